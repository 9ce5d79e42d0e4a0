/**
 * The soak: a bounded stream of fuzzed, mostly malformed requests at the reference server (`h1spec serve`, probe
 * app, its own process), one connection each, from a seeded generator. It reports whether the server crashed (it
 * must not), its resident memory over time (it must level off), the tracebacks it logged, how each exchange ended,
 * and whether a valid request is still answered at the end.
 *
 *   npx tsx bench/soak.ts [--count 1000000] [--seed 1] [--concurrency 32] [--out reports/bench/soak.json]
 *
 * Exit 0 when the server survived, stayed bounded and answered at the end; 1 otherwise; 2 for bad usage.
 * Every exchange is bounded: the client half-closes after its bytes, so even a request that declares a body it never
 * sends ends at the end of stream, and an exchange still open after EXCHANGE_TIMEOUT_MS is counted as hung.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseProbeReport, PROBE_ACTION_HEADER } from '../conformance/probes/contract.ts';
import { REPO_ROOT } from '../conformance/targets/peers.ts';
import type { Endpoint } from '../conformance/wire/types.ts';
import { rssBytes } from './lib/proc.ts';

export interface SoakOptions {
  count: number;
  seed: number;
  concurrency: number;
  /** Where the JSON report goes; none when null. */
  out: string | null;
  /** Progress lines (one every PROGRESS_EVERY requests) go here. */
  progress?: (line: string) => void;
}

export interface RssSample {
  requests: number;
  seconds: number;
  mib: number;
}

export interface SoakReport {
  options: Omit<SoakOptions, 'out' | 'progress'>;
  /** Exchanges completed before the run ended (all of them unless the server died). */
  requests: number;
  /** The server process ended during the run: 0 or 1, and how. */
  crashes: number;
  serverExit: string | null;
  elapsedSeconds: number;
  requestsPerSecond: number;
  /** How each exchange ended, from the client's side. */
  endings: Record<Ending, number>;
  /** Requests sent, by kind of malformation. */
  kinds: Record<string, number>;
  /** Tracebacks the server logged, by exception: Django's own (a negative Content-Length raises ValueError at the end of a request) and the probe's `raise` actions. */
  tracebacks: Record<string, number>;
  rss: {
    startMiB: number;
    peakMiB: number;
    endMiB: number;
    /** Peak over the first WARM_UP_SHARE of the requests, and how far the rest went past it. */
    warmUpPeakMiB: number;
    growthAfterWarmUpMiB: number;
    bounded: boolean;
    samples: RssSample[];
  };
  final: { answered: boolean; status: string; probe: boolean };
  survived: boolean;
}

type Ending = 'answered' | 'bare' | 'closedSilently' | 'reset' | 'resetBySoak' | 'hung' | 'connectFailed';

const EXCHANGE_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const SAMPLE_EVERY_MS = 500;
const PROGRESS_EVERY = 50_000;
const WARM_UP_SHARE = 0.1;
/** How far past its warm-up peak the server's RSS may go before the run calls it unbounded. */
const RSS_GROWTH_LIMIT_MIB = 96;
const MIB = 1024 * 1024;

// ---- The generator ------------------------------------------------------------------------------------------------

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(readonly next: () => number) {}

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

interface Exchange {
  kind: string;
  bytes: Buffer;
  /** End with a reset right after writing, instead of a half-close. */
  reset: boolean;
}

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'get', 'G\x00T', 'PRI', 'CONNECT'];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1', 'HTTP/1.1.1', 'http/1.1', 'HTTP/01.1', 'FOO/1.1', 'HTTP/1.x', 'HTTP/９.1', ''];
const TARGETS = ['/', '/a%20b/%2F', '/caf\xc3\xa9', '//double', '/p?q=%zz', '*', 'http://h/x', '/nul%00', '/\x7f', '/' + 'x'.repeat(300)];
const PROBE_ACTIONS = ['no-length', 'read:0', 'read:3', 'status:204', 'status:999', 'raise', 'raise-after-headers', 'read:-1', 'bogus'];
const HEADER_LINES = [
  'Content-Length: -5',
  'Content-Length: -1',
  'Content-Length: abc',
  'Content-Length: 99999999999999999999',
  'Content-Length: 5, 5',
  'Content-Length:',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked, gzip',
  'Expect: 100-continue',
  'Expect: 100-Continue',
  'Connection: keep-alive',
  'Connection: close',
  'X_Under: score',
  'X-Fold: a\r\n  folded',
  'No colon here',
  ': no name',
  'Space : before',
  'X-Bare\rCR: x',
  'X-Nul: a\x00b',
  'X-Latin: \xff\xfe',
  'Host:',
  'Host: a\r\nHost: b',
];
const CHUNKED_BODIES = ['5\r\nhello\r\n0\r\n\r\n', 'zz\r\nhello\r\n0\r\n\r\n', 'ffffffffffffffffffff\r\nx\r\n', '5;ext\r\nhello\r\n0\r\nTrailer: t\r\n\r\n', '5\r\nhelloXX'];

function requestText(d: Dice): string {
  const method = d.pick(METHODS);
  const target = d.pick(TARGETS);
  const version = d.pick(VERSIONS);
  const lines = [version ? `${method} ${target} ${version}` : `${method} ${target}`, 'Host: soak'];
  const extra = d.int(4);
  for (let i = 0; i < extra; i++) lines.push(d.pick(HEADER_LINES));
  if (d.chance(0.3)) lines.push(`${PROBE_ACTION_HEADER}: ${d.pick(PROBE_ACTIONS)}`);
  const body = d.chance(0.3) ? d.pick(CHUNKED_BODIES) : d.chance(0.3) ? 'hello' : '';
  if (body && d.chance(0.5)) lines.push(`Content-Length: ${d.chance(0.8) ? body.length : d.int(100_000)}`);
  return lines.join(d.chance(0.9) ? '\r\n' : '\n') + '\r\n\r\n' + body;
}

function latin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** Flips, inserts and deletes a few bytes anywhere. */
function mutate(d: Dice, bytes: Buffer): Buffer {
  const out = [...bytes];
  const edits = 1 + d.int(4);
  for (let i = 0; i < edits; i++) {
    const at = d.int(out.length + 1);
    const how = d.int(3);
    if (how === 0 && at < out.length) out[at] = d.int(256);
    else if (how === 1) out.splice(at, 0, d.pick([0x0a, 0x0d, 0x20, 0x3a, 0x00, d.int(256)]));
    else out.splice(at, 1);
  }
  return Buffer.from(out);
}

/** The kinds of request the soak sends, each with its share of the stream. */
const KINDS: Array<[string, number, (d: Dice) => Buffer]> = [
  ['valid', 10, (d) => latin1(`GET /soak/${d.int(1e6)} HTTP/1.1\r\nHost: soak\r\n${d.chance(0.5) ? `${PROBE_ACTION_HEADER}: ${d.pick(PROBE_ACTIONS)}\r\n` : ''}\r\n`)],
  ['malformed', 40, (d) => latin1(requestText(d))],
  ['mutated', 25, (d) => mutate(d, latin1(requestText(d)))],
  ['binary', 8, (d) => Buffer.concat([d.bytes(1 + d.int(200)), latin1(d.chance(0.5) ? '\r\n\r\n' : '')])],
  ['tls', 4, (d) => Buffer.concat([Buffer.from([0x16, 0x03, d.int(4)]), d.bytes(40 + d.int(200)), latin1(d.chance(0.5) ? '\n' : '')])],
  ['blank-lines', 3, (d) => latin1('\r\n'.repeat(1 + d.int(3)) + `GET / HTTP/1.1\r\nHost: soak\r\n\r\n`)],
  ['pipelined', 6, (d) => Buffer.concat(Array.from({ length: 2 + d.int(3) }, () => latin1(requestText(d))))],
  // Rare, because each costs 64 KiB or more: the limits of SPEC (URI-414, HDR-LINE-LIMIT, HDR-COUNT-LIMIT) and around them.
  ['oversize', 1, (d) => {
    const choice = d.int(4);
    if (choice === 0) return latin1(`GET /${'a'.repeat(65_530 + d.int(12))} HTTP/1.1\r\nHost: soak\r\n\r\n`);
    if (choice === 1) return latin1(`GET / HTTP/1.1\r\nHost: soak\r\nX-Big: ${'v'.repeat(65_525 + d.int(12))}\r\n\r\n`);
    if (choice === 2) return latin1(`GET / HTTP/1.1\r\n${Array.from({ length: 98 + d.int(4) }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`);
    return latin1(`GET /${'b'.repeat(70_000 + d.int(100_000))}`);
  }],
];
const TOTAL_WEIGHT = KINDS.reduce((sum, [, weight]) => sum + weight, 0);

function pickKind(d: Dice): (typeof KINDS)[number] {
  let roll = d.int(TOTAL_WEIGHT);
  for (const entry of KINDS) {
    roll -= entry[1];
    if (roll < 0) return entry;
  }
  throw new Error('unreachable: the roll is below the total weight');
}

/** The `index`-th exchange of the stream for `seed`: the same bytes whatever the concurrency or the order of sending. */
export function exchangeFor(seed: number, index: number): Exchange {
  const d = new Dice(prng((seed * 0x9e3779b1 + index) >>> 0));
  const [kind, , make] = pickKind(d);
  const bytes = make(d);
  // A client that gives up part way: the request cut anywhere, then a reset.
  if (d.chance(0.05)) return { kind: `${kind}+reset`, bytes: bytes.subarray(0, d.int(bytes.length + 1)), reset: true };
  return { kind, bytes, reset: false };
}

// ---- The server -----------------------------------------------------------------------------------------------------

interface Server {
  endpoint: Endpoint;
  pid: number;
  /** Set once the process has ended. */
  exit: string | null;
  tracebacks: Record<string, number>;
  stop(): Promise<void>;
}

/** `h1spec serve` on a free port of 127.0.0.1, its log read line by line for tracebacks. */
async function startServer(): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, ['bin/h1spec.mjs', 'serve', '--port', '0', '--app', 'probe'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const server: Server = {
    endpoint: { host: '127.0.0.1', port: 0 },
    pid: child.pid!,
    exit: null,
    tracebacks: {},
    stop: () => stopChild(child),
  };
  child.once('exit', (code, signal) => (server.exit = signal ? `signal ${signal}` : `exit code ${code}`));
  // A traceback is "Traceback (most recent call last):", then the exception's own line ("ValueError: ...").
  let afterTraceback = false;
  let partial = '';
  child.stderr!.setEncoding('latin1').on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (afterTraceback) {
        const name = /^([A-Za-z_][\w.]*)(?::|$)/.exec(line)?.[1] ?? 'unknown';
        server.tracebacks[name] = (server.tracebacks[name] ?? 0) + 1;
      }
      afterTraceback = line === 'Traceback (most recent call last):';
    }
  });
  server.endpoint.port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    let seen = '';
    child.stdout!.setEncoding('latin1').on('data', (text: string) => {
      seen += text;
      const port = /Starting development server at http:\/\/127\.0\.0\.1:(\d+)\//.exec(seen)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the server exited before serving (${server.exit})`));
    });
  }).catch(async (err: unknown) => {
    await stopChild(child);
    throw err;
  });
  return server;
}

/** SIGTERM by PID, SIGKILL after a grace period; resolves once the process is gone. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ---- The client -----------------------------------------------------------------------------------------------------

const STATUS_PREFIX = Buffer.from('HTTP/', 'latin1');

/** Sends one exchange on its own connection and tells how the server ended it. */
function send(endpoint: Endpoint, exchange: Exchange): Promise<Ending> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true });
    let connected = false;
    /** The first bytes of the answer, enough to tell a status line. */
    let head = Buffer.alloc(0);
    let done = false;
    const finish = (ending: Ending): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ending);
    };
    const timer = setTimeout(() => finish('hung'), EXCHANGE_TIMEOUT_MS);
    socket.on('connect', () => {
      connected = true;
      socket.write(exchange.bytes, () => {
        if (!exchange.reset) return socket.end();
        socket.resetAndDestroy();
        finish('resetBySoak');
      });
    });
    socket.on('data', (chunk: Buffer) => {
      if (head.length < STATUS_PREFIX.length) head = Buffer.concat([head, chunk]).subarray(0, STATUS_PREFIX.length);
    });
    socket.on('end', () => finish(head.length === 0 ? 'closedSilently' : head.equals(STATUS_PREFIX) ? 'answered' : 'bare'));
    socket.on('error', () => finish(connected ? 'reset' : 'connectFailed'));
  });
}

/** A plain GET, answered in full by the probe application: the server still serves. */
function finalRequest(endpoint: Endpoint): Promise<SoakReport['final']> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const chunks: Buffer[] = [];
    const settle = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks);
      const headEnd = text.indexOf('\r\n\r\n');
      const status = text.subarray(0, Math.max(0, text.indexOf('\r\n'))).toString('latin1');
      const probe = headEnd >= 0 && parseProbeReport(text.subarray(headEnd + 4)) !== null;
      resolve({ answered: status.startsWith('HTTP/1.1 200 '), status, probe });
    };
    const timer = setTimeout(settle, EXCHANGE_TIMEOUT_MS);
    socket.on('connect', () => socket.write('GET /soak-final HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', settle);
    socket.on('error', () => {});
  });
}

// ---- The run --------------------------------------------------------------------------------------------------------

function mib(bytes: number): number {
  return Math.round((bytes / MIB) * 10) / 10;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const server = await startServer();
  const started = performance.now();
  const endings = Object.fromEntries(
    (['answered', 'bare', 'closedSilently', 'reset', 'resetBySoak', 'hung', 'connectFailed'] as const).map((e) => [e, 0]),
  ) as Record<Ending, number>;
  const kinds: Record<string, number> = {};
  const samples: RssSample[] = [];
  let requests = 0;
  const sample = (): void => {
    if (server.exit !== null) return;
    try {
      samples.push({ requests, seconds: Math.round(performance.now() - started) / 1000, mib: mib(rssBytes(server.pid)) });
    } catch {
      // The process is going away: its exit is recorded by the exit handler.
    }
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_EVERY_MS);
  let next = 0;
  try {
    const worker = async (): Promise<void> => {
      while (next < options.count && server.exit === null) {
        const exchange = exchangeFor(options.seed, next++);
        kinds[exchange.kind] = (kinds[exchange.kind] ?? 0) + 1;
        endings[await send(server.endpoint, exchange)]++;
        requests++;
        if (requests % PROGRESS_EVERY === 0) options.progress?.(`${requests} requests, server RSS ${samples.at(-1)?.mib ?? '?'} MiB`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    sample();
  } finally {
    clearInterval(sampler);
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const final = server.exit === null ? await finalRequest(server.endpoint) : { answered: false, status: '', probe: false };
  const serverExit = server.exit;
  await server.stop();

  const warmUpEnd = options.count * WARM_UP_SHARE;
  const peakOf = (list: RssSample[]) => Math.max(0, ...list.map((s) => s.mib));
  const warmUpPeakMiB = peakOf(samples.filter((s) => s.requests <= warmUpEnd));
  const growthAfterWarmUpMiB = Math.max(0, peakOf(samples.filter((s) => s.requests > warmUpEnd)) - warmUpPeakMiB);
  const bounded = growthAfterWarmUpMiB <= RSS_GROWTH_LIMIT_MIB;
  const crashes = serverExit === null ? 0 : 1;
  const report: SoakReport = {
    options: { count: options.count, seed: options.seed, concurrency: options.concurrency },
    requests,
    crashes,
    serverExit,
    elapsedSeconds: Math.round(elapsedSeconds * 10) / 10,
    requestsPerSecond: Math.round(requests / elapsedSeconds),
    endings,
    kinds,
    tracebacks: server.tracebacks,
    rss: {
      startMiB: samples[0]?.mib ?? 0,
      peakMiB: peakOf(samples),
      endMiB: samples.at(-1)?.mib ?? 0,
      warmUpPeakMiB,
      growthAfterWarmUpMiB: Math.round(growthAfterWarmUpMiB * 10) / 10,
      bounded,
      samples,
    },
    final,
    survived: crashes === 0 && endings.hung === 0 && bounded && final.answered && final.probe,
  };
  if (options.out !== null) {
    mkdirSync(path.dirname(options.out), { recursive: true });
    writeFileSync(options.out, JSON.stringify(report, null, 2) + '\n');
  }
  return report;
}

// ---- The command line ---------------------------------------------------------------------------------------------------

class UsageError extends Error {}

function wholeNumber(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || !Number.isSafeInteger(value)) throw new UsageError(`${flag}: expected a whole number of at least ${min}, got ${JSON.stringify(text)}`);
  return value;
}

function parseCommandLine(argv: string[]): SoakOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { count: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' }, out: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    count: wholeNumber('--count', values.count, 1_000_000, 1),
    seed: wholeNumber('--seed', values.seed, 1, 0),
    concurrency: wholeNumber('--concurrency', values.concurrency, 32, 1),
    out: values.out ?? path.join(REPO_ROOT, 'reports/bench/soak.json'),
    progress: (line) => process.stderr.write(`soak: ${line}\n`),
  };
}

function summary(report: SoakReport): string {
  const { rss } = report;
  return [
    `soak: ${report.requests} requests in ${report.elapsedSeconds} s (${report.requestsPerSecond}/s), seed ${report.options.seed}, concurrency ${report.options.concurrency}`,
    `  crashes: ${report.crashes}${report.serverExit ? ` (${report.serverExit})` : ''}; hung exchanges: ${report.endings.hung}`,
    `  endings: ${Object.entries(report.endings).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  tracebacks logged: ${Object.entries(report.tracebacks).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `  server RSS: start ${rss.startMiB} MiB, peak ${rss.peakMiB} MiB, end ${rss.endMiB} MiB; ${rss.growthAfterWarmUpMiB} MiB past the warm-up peak (${rss.bounded ? 'bounded' : 'NOT bounded'})`,
    `  final valid request: ${report.final.answered && report.final.probe ? 'answered' : `NOT answered (${report.final.status || 'nothing'})`}`,
    `  ${report.survived ? 'survived' : 'FAILED'}`,
  ].join('\n');
}

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`soak: ${err.message}\n`);
    return 2;
  }
  const report = await runSoak(options);
  process.stdout.write(summary(report) + '\n');
  if (options.out) process.stdout.write(`  report: ${path.relative(process.cwd(), options.out)}\n`);
  return report.survived ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  process.exitCode = await main();
}
