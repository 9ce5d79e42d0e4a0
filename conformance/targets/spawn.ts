/**
 * Targets the harness starts itself: a shell command with `{port}`, run in its own process group, waited on
 * until its port accepts connections, its output captured line by line for the checks that read the log,
 * and stopped by PID, including when the harness exits without stopping it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogWindow } from '../catalogue/types.ts';
import { formatEndpoint } from '../wire/client.ts';
import type { Endpoint } from '../wire/types.ts';
import type { LogSource, RunningTarget } from './types.ts';

export interface SpawnOptions {
  cwd?: string;
  /** Added to the clean environment (PATH, HOME, LANG of the harness). */
  env?: NodeJS.ProcessEnv;
  /** How long the target may take to accept connections; 15 s by default. */
  startTimeoutMs?: number;
  /** Where the target listens and the harness connects; 127.0.0.1 by default. An IPv6 literal without brackets. */
  host?: string;
  /** The port to wait on when the command has no `{port}` placeholder (the command chooses its own). */
  port?: number;
}

/** A target the harness started: its PID is also its process group's ID. */
export interface SpawnedTarget extends RunningTarget {
  pid: number;
}

/** The target could not be started: the CLI reports it as a set-up failure (exit code 2), not as failing checks. */
export class TargetStartError extends Error {
  override name = 'TargetStartError';
  /** The last lines the target wrote to stderr (or stdout when stderr was silent), oldest first. */
  readonly outputTail: string[];
  constructor(message: string, outputTail: string[] = []) {
    super(message);
    this.outputTail = outputTail;
  }
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 2_000;
const CONNECT_POLL_MS = 50;
const CONNECT_ATTEMPT_MAX_MS = 1_000;
/** After the target exits, how long its last output may take to come through the pipes. */
const OUTPUT_DRAIN_MAX_MS = 500;
const LOG_CAPACITY = 10_000;
const LOG_QUIET_MS = 50;
const LOG_WAIT_MAX_MS = 1_000;
const ERROR_TAIL_LINES = 20;
const ERROR_LINE_MAX_CHARS = 500;
/** The only variables of the harness's own environment a target sees, so its environ (echoed by probes into reports) holds no secrets. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG'] as const;

/** Binds port 0 and releases it: the port is free now, and the OS hands out ports in order, so it rarely comes back at once. */
export async function findFreePort(host: string = DEFAULT_HOST): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type OutputStream = 'stdout' | 'stderr';

/**
 * Every line a target writes, stdout and stderr interleaved in arrival order, the last LOG_CAPACITY kept.
 * Shared with targets that produce their output in-process (embedded.ts): feed it text with `write` or whole lines with `add`.
 */
export class CapturedOutput implements LogSource {
  private lines: string[] = [];
  /** Text after the last newline, per stream, until its line is complete. */
  private readonly partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  /** The sequence number of lines[0]: windows remember where they began even after old lines are dropped. */
  private firstSequence = 0;
  private lastArrival = 0;
  readonly stderrTail: string[] = [];
  readonly stdoutTail: string[] = [];

  /** Takes text as it comes, in pieces of any size; a line counts once its newline has arrived (or `end` is called). */
  write(text: string, stream: OutputStream): void {
    const pieces = (this.partial[stream] + text).split('\n');
    this.partial[stream] = pieces.pop() ?? '';
    for (const piece of pieces) this.add(piece.endsWith('\r') ? piece.slice(0, -1) : piece, stream);
  }

  /** The stream has closed: its unterminated last line counts too. */
  end(stream: OutputStream): void {
    if (this.partial[stream] !== '') this.add(this.partial[stream], stream);
    this.partial[stream] = '';
  }

  add(line: string, stream: OutputStream): void {
    this.lines.push(line);
    this.lastArrival = performance.now();
    // Dropping in batches keeps adding a line O(1) amortised.
    if (this.lines.length > LOG_CAPACITY * 1.25) {
      const excess = this.lines.length - LOG_CAPACITY;
      this.lines.splice(0, excess);
      this.firstSequence += excess;
    }
    const tail = stream === 'stderr' ? this.stderrTail : this.stdoutTail;
    if (line.trim() !== '') tail.push(line);
    if (tail.length > ERROR_TAIL_LINES) tail.shift();
  }

  private get nextSequence(): number {
    return this.firstSequence + this.lines.length;
  }

  private since(sequence: number): string[] {
    const kept = this.lines.slice(Math.max(0, sequence - this.firstSequence));
    return kept.length > LOG_CAPACITY ? kept.slice(-LOG_CAPACITY) : kept;
  }

  /** A server logs a request after answering it, so wait until the output has been quiet for a moment (bounded). */
  private async quiet(): Promise<void> {
    const calledAt = performance.now();
    const deadline = calledAt + LOG_WAIT_MAX_MS;
    for (;;) {
      const quietAt = Math.max(this.lastArrival, calledAt) + LOG_QUIET_MS;
      const now = performance.now();
      if (now >= quietAt || now >= deadline) return;
      await sleep(Math.min(quietAt, deadline) - now);
    }
  }

  window(): LogWindow {
    const start = this.nextSequence;
    return {
      lines: async () => {
        await this.quiet();
        return this.since(start);
      },
    };
  }

  /** The target's last words for an error message: its stderr, or its stdout when stderr said nothing. */
  tail(): string[] {
    return this.stderrTail.length > 0 ? [...this.stderrTail] : [...this.stdoutTail];
  }
}

/** Feeds a child's stream into `output`; resolves when the stream has closed. */
function capture(stream: Readable, name: OutputStream, output: CapturedOutput): Promise<void> {
  const decoder = new StringDecoder('utf8');
  return new Promise((resolve) => {
    stream.on('data', (data: Buffer) => output.write(decoder.write(data), name));
    stream.on('close', () => {
      output.write(decoder.end(), name);
      output.end(name);
      resolve();
    });
  });
}

// --- Never leave a target behind ------------------------------------------------------------------------------
// A harness that returns, throws or is interrupted must not leave servers holding ports. Handlers are installed
// only while a target runs, so a harness with no live target keeps Node's default signal behaviour.

const liveProcessGroups = new Set<number>();
const HARNESS_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function killLiveTargets(): void {
  for (const pid of liveProcessGroups) signalGroup(pid, 'SIGKILL');
}

function onHarnessSignal(signal: NodeJS.Signals): void {
  killLiveTargets();
  for (const pid of [...liveProcessGroups]) forget(pid);
  // With no other handler, the signal would have ended the harness: let it, now the targets are gone.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function remember(pid: number): void {
  if (liveProcessGroups.size === 0) {
    process.on('exit', killLiveTargets);
    for (const signal of HARNESS_SIGNALS) process.on(signal, onHarnessSignal);
  }
  liveProcessGroups.add(pid);
}

function forget(pid: number): void {
  if (!liveProcessGroups.delete(pid) || liveProcessGroups.size > 0) return;
  process.off('exit', killLiveTargets);
  for (const signal of HARNESS_SIGNALS) process.off(signal, onHarnessSignal);
}

// --- Starting ------------------------------------------------------------------------------------------------

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

export function cleanEnvironment(extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of INHERITED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
  return { ...env, ...extra };
}

function lastWords(output: CapturedOutput): string {
  const last = output.tail().at(-1)?.trim();
  if (!last) return 'no output';
  return last.length > ERROR_LINE_MAX_CHARS ? `${last.slice(0, ERROR_LINE_MAX_CHARS)}…` : last;
}

/** One connection attempt: true when the port accepted it. */
function accepts(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const settle = (accepted: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(accepted);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    socket.once('connect', () => settle(true));
    socket.once('error', () => settle(false));
  });
}

/** Resolves 'accepting', or 'timeout' once the deadline passes; `exit` wins the race when the target dies first. */
async function waitUntilAccepting(endpoint: Endpoint, deadline: number, exit: Promise<string>): Promise<'accepting' | 'timeout' | { exit: string }> {
  const exited = exit.then((how) => ({ exit: how }));
  while (performance.now() < deadline) {
    const remaining = deadline - performance.now();
    const attempt = await Promise.race([accepts(endpoint, Math.min(remaining, CONNECT_ATTEMPT_MAX_MS)), exited]);
    if (attempt === true) return 'accepting';
    if (attempt !== false) return attempt;
    const pause = await Promise.race([sleep(Math.min(CONNECT_POLL_MS, Math.max(0, deadline - performance.now()))), exited]);
    if (pause) return pause;
  }
  return 'timeout';
}

function startProcess(command: string, options: SpawnOptions): Promise<ChildProcess> {
  // `exec` makes the shell become the command, so the PID the harness holds is the server's own; `detached`
  // gives it a process group, so a stop also reaches whatever the server forks (gunicorn's workers).
  const child = spawn('/bin/sh', ['-c', `exec ${command}`], {
    cwd: options.cwd,
    env: cleanEnvironment(options.env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', (error) => reject(new TargetStartError(`cannot start target \`${command}\`: ${error.message}`)));
  });
}

/**
 * Starts `command` (`{port}` becomes a free port) through /bin/sh and resolves once its port accepts connections.
 * The command is one simple command, as `exec` takes it: environment variables go in `options.env`.
 * Rejects with a one-line TargetStartError when the target exits first or the start timeout passes.
 */
export async function spawnTarget(command: string, options: SpawnOptions = {}): Promise<SpawnedTarget> {
  const host = options.host ?? DEFAULT_HOST;
  const hasPlaceholder = command.includes('{port}');
  if (!hasPlaceholder && options.port === undefined) {
    throw new TargetStartError(`cannot tell where target \`${command}\` listens: give its port as {port} in the command`);
  }
  const port = hasPlaceholder ? await findFreePort(host) : options.port!;
  const endpoint: Endpoint = { host, port };
  const resolvedCommand = command.replaceAll('{port}', String(port));
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const startedAt = performance.now();

  const child = await startProcess(resolvedCommand, options);
  const pid = child.pid!;
  remember(pid);
  const output = new CapturedOutput();
  const outputClosed = Promise.all([capture(child.stdout!, 'stdout', output), capture(child.stderr!, 'stderr', output)]);
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      // Whatever the server forked dies with it; it cannot be reached through the harness any more.
      signalGroup(pid, 'SIGKILL');
      forget(pid);
      resolve(describeExit(code, signal));
    });
  });
  // Do not hold Node open for the target: when the harness ends with it still running, `remember`'s exit handler kills it.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as net.Socket).unref();

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!running) return;
      signalGroup(pid, 'SIGTERM');
      const escalation = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(escalation);
    })());

  const outcome = await waitUntilAccepting(endpoint, startedAt + startTimeoutMs, exited);
  if (outcome !== 'accepting') {
    const address = formatEndpoint(endpoint);
    let what: string;
    if (outcome === 'timeout') {
      await stop();
      what = `target did not accept connections on ${address} within ${startTimeoutMs} ms`;
    } else {
      await Promise.race([outputClosed, sleep(OUTPUT_DRAIN_MAX_MS)]);
      what = `target ${outcome.exit} before accepting connections on ${address}`;
    }
    throw new TargetStartError(`${what}: ${lastWords(output)}`, output.tail());
  }

  return {
    pid,
    endpoint,
    description: `${resolvedCommand} (pid ${pid}) on ${formatEndpoint(endpoint)}`,
    log: output,
    exited,
    stop,
  };
}
