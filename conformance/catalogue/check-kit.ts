/**
 * What every check is made of: a Trial that opens connections within the check's time and keeps the bytes of each
 * as evidence, outcomes that say which acceptable result was seen, and readers for what servers send back
 * (headers, http.server's error page, probe reports, log lines).
 *
 * A check is `defineCheck(expected, async (t) => outcome)`. Inside it, end the check early with
 * `decide(outcome)`; a wait that reaches the check's time limit ends it as `error` ("inconclusive: …") by itself.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseProbeReport, PROBE_ACTION_HEADER, type EnvironValue, type ProbeReport } from '../probes/contract.ts';
import { Deadline, DEFAULT_MAX_BYTES, exchange, formatEndpoint, RawConnection } from '../wire/client.ts';
import { escapeBytes } from '../wire/escape.ts';
import { request } from '../wire/request.ts';
import type { CloseState, Conversation, Endpoint, ParsedResponse, Writable } from '../wire/types.ts';
import type { CheckContext, CheckResult, CheckVerdict, Evidence, Requirement } from './types.ts';

// --- Outcomes -------------------------------------------------------------------------------------------------

/** A check's verdict and, in words, what was seen (for a pass: which acceptable outcome). */
export interface Outcome {
  verdict: CheckVerdict;
  seen: string;
}

export const pass = (seen: string): Outcome => ({ verdict: 'pass', seen });
export const fail = (seen: string): Outcome => ({ verdict: 'fail', seen });
export const notApplicable = (why: string): Outcome => ({ verdict: 'skip', seen: why });
/** The harness could not decide (a wait ran out where nothing else could decide); never a failure of the target. */
export const inconclusive = (why: string): Outcome => ({ verdict: 'error', seen: `inconclusive: ${why}` });

/** Thrown to end a check at once with an outcome; defineCheck turns it into the result. */
export class Decided extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.seen);
  }
}

export function decide(outcome: Outcome): never {
  throw new Decided(outcome);
}

/**
 * Collects the parts of a check with several observations: every part is reported, and the check fails when any
 * part does. Texts say what was seen; a failed part also says what was expected.
 */
export class Judgement {
  private readonly parts: Array<{ ok: boolean; text: string }> = [];

  expect(ok: boolean, seen: string, wanted?: string): boolean {
    this.parts.push({ ok, text: ok || wanted === undefined ? seen : `${seen}, expected ${wanted}` });
    return ok;
  }

  /** `label` is `value`, exactly. */
  equal(label: string, value: unknown, wanted: unknown): boolean {
    return this.expect(sameValue(value, wanted), `${label} ${show(value)}`, show(wanted));
  }

  /** `label` is one of the named alternatives; the name of the one seen is reported. */
  oneOf(label: string, value: unknown, alternatives: ReadonlyArray<readonly [unknown, string]>): boolean {
    const match = alternatives.find(([wanted]) => sameValue(value, wanted));
    if (match) return this.expect(true, `${label} ${show(value)} (${match[1]})`);
    return this.expect(false, `${label} ${show(value)}`, alternatives.map(([wanted, name]) => `${show(wanted)} (${name})`).join(' or '));
  }

  /** Adds what another judgement or helper found, as one part; an inconclusive or skipped part ends the whole check so. */
  include(outcome: Outcome, label?: string): boolean {
    const text = label ? `${label}: ${outcome.seen}` : outcome.seen;
    if (outcome.verdict === 'error' || outcome.verdict === 'skip') decide({ verdict: outcome.verdict, seen: text });
    return this.expect(outcome.verdict === 'pass', text);
  }

  outcome(): Outcome {
    const failed = this.parts.filter((part) => !part.ok);
    if (failed.length > 0) return fail(failed.map((part) => part.text).join('; '));
    return pass(this.parts.map((part) => part.text).join('; '));
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A value for reports: strings quoted with control bytes escaped, `(absent)` for undefined. */
export function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  return JSON.stringify(value);
}

/** Bytes for reports, escaped and shortened. */
export function showBytes(bytes: Buffer, max = 120): string {
  return `"${escapeBytes(bytes, max)}"`;
}

// --- The trial: connections within the check's time, kept as evidence ----------------------------------------

export interface ExchangeOptions {
  /** One per request written, in order (the parser needs them: a response to HEAD has no body). */
  methods: readonly string[];
  /** After the expected responses: wait for the close (default), ask with a follow-up request whether the connection is still open, or stop. */
  after?: 'close' | 'probe' | 'none';
  /** Send FIN right after writing. */
  halfClose?: boolean;
}

/**
 * One run of a check. Every wait inside it shares the check's single time limit (ctx.timeoutMs), so a check that runs
 * into it still reports its own evidence before the runner's watchdog fires.
 */
export class Trial {
  private readonly evidence: Evidence[] = [];
  private readonly open = new Map<RawConnection, string>();
  private readonly resets: Array<{ label: string; socket: ResettableSocket }> = [];
  private readonly deadlineAt: number;

  constructor(readonly ctx: CheckContext) {
    this.deadlineAt = performance.now() + ctx.timeoutMs;
  }

  get endpoint(): Endpoint {
    return this.ctx.endpoint;
  }

  remainingMs(): number {
    return Math.max(0, Math.floor(this.deadlineAt - performance.now()));
  }

  /** A deadline for one wait: `ms` when given and shorter than what is left of the check, else what is left. */
  deadline(ms?: number): Deadline {
    return new Deadline(ms === undefined ? this.remainingMs() : Math.min(ms, this.remainingMs()));
  }

  /**
   * Connects, writes, reads one response per method, then does the `after` step; the conversation becomes evidence.
   * Ends the check as inconclusive when the time limit came first.
   */
  async exchange(label: string, bytes: Writable, options: ExchangeOptions): Promise<Conversation> {
    const conversation = await exchange(this.endpoint, bytes, { ...options, timeoutMs: this.remainingMs() });
    this.record(label, conversation);
    if (conversation.close === 'timeout') {
      decide(inconclusive(`${label}: no decision within the time limit (${this.ctx.timeoutMs} ms); received ${showBytes(conversation.received)}`));
    }
    return conversation;
  }

  /** A connection the check drives step by step; its bytes become evidence when the check ends, and it is destroyed then. */
  async connect(label: string): Promise<RawConnection> {
    const connection = await RawConnection.open(this.endpoint, { timeoutMs: this.remainingMs() });
    this.open.set(connection, label);
    return connection;
  }

  /** Records a connection's bytes now (e.g. before reusing its label); it is still destroyed at the end. */
  recordConnection(connection: RawConnection): Conversation {
    const conversation = connection.conversation();
    const label = this.open.get(connection);
    if (label !== undefined) {
      this.record(label, conversation);
      this.open.delete(connection);
      connection.destroy();
    }
    return conversation;
  }

  /** A plain socket the check can reset (RST) and whose local address it can read, for "the client hung up" cases. */
  async connectResettable(label: string): Promise<ResettableSocket> {
    const socket = await ResettableSocket.open(this.endpoint, this.remainingMs());
    this.resets.push({ label, socket });
    return socket;
  }

  /** The evidence of every connection, in the order they were used; closes whatever is still open. */
  finish(): Evidence[] {
    for (const connection of [...this.open.keys()]) this.recordConnection(connection);
    for (const { label, socket } of this.resets.splice(0)) {
      socket.destroy();
      this.evidence.push({ label, sent: socket.sent(), received: socket.received(), close: socket.closeState });
    }
    return this.evidence;
  }

  /** The first connection whose reading stopped at the harness's byte cap (DEFAULT_MAX_BYTES), if any. */
  capped: string | null = null;

  private record(label: string, conversation: Conversation): void {
    if (conversation.truncated) this.capped ??= label;
    this.evidence.push({ label, sent: conversation.sent, received: conversation.received, close: conversation.close });
  }
}

/** Builds a check: `expected` lists every acceptable outcome in words; `run` returns the outcome seen. */
export function defineCheck(expected: string, run: (t: Trial) => Promise<Outcome>): Requirement['check'] {
  return async (ctx: CheckContext): Promise<CheckResult> => {
    const trial = new Trial(ctx);
    let outcome: Outcome;
    try {
      outcome = await run(trial);
    } catch (err) {
      if (err instanceof Decided) outcome = err.outcome;
      else outcome = { verdict: 'error', seen: `the check could not run: ${err instanceof Error ? err.message : String(err)}` };
    }
    const evidence = trial.finish();
    // Reading stopped at the harness's own cap: the response's end and the connection's were never seen, so no
    // verdict (not even "does not apply") can rest on it.
    if (trial.capped !== null && outcome.verdict !== 'error') {
      outcome = inconclusive(`${trial.capped}: more than ${DEFAULT_MAX_BYTES} bytes came back, past the harness's read cap, so the end of the response was never seen; until then: ${outcome.seen}`);
    }
    return { verdict: outcome.verdict, expected, actual: outcome.seen, evidence };
  };
}

// --- Requests ----------------------------------------------------------------------------------------------------

export type HeaderLines = ReadonlyArray<readonly [string, string]>;

/** The Host header a client of this endpoint sends: `host:port`, an IPv6 literal in brackets. */
export const hostOf: (ep: Endpoint) => string = formatEndpoint;

export interface RequestShape {
  method?: string;
  /** The Host header's value; the endpoint's own by default. */
  host?: string;
  version?: string;
  /** Sent after Host, in order. */
  headers?: HeaderLines;
  body?: Buffer | string;
  /** Adds `Connection: close` last, so the server ends the conversation itself (default true). */
  close?: boolean;
  /** Adds `X-Probe-Action: <value>`. */
  probeAction?: string;
}

/** A request with Host first, the given headers, and `Connection: close` unless told otherwise. */
export function requestFor(ep: Endpoint, target: string, shape: RequestShape = {}): Buffer {
  const headers: Array<readonly [string, string]> = [['Host', shape.host ?? hostOf(ep)], ...(shape.headers ?? [])];
  if (shape.probeAction !== undefined) headers.push([PROBE_ACTION_HEADER, shape.probeAction]);
  if (shape.close ?? true) headers.push(['Connection', 'close']);
  return request(shape.method ?? 'GET', target, shape.version ?? 'HTTP/1.1', headers, shape.body);
}

/** A request line of exactly `totalBytes` bytes, CRLF included, padded in the target's path. */
export function requestLineOfLength(method: string, version: string, totalBytes: number): string {
  const fixed = `${method} / ${version}\r\n`.length;
  if (totalBytes < fixed) throw new RangeError(`a request line cannot be shorter than ${fixed} bytes`);
  return `${method} /${'a'.repeat(totalBytes - fixed)} ${version}\r\n`;
}

/** A header field line of exactly `totalBytes` bytes, CRLF included. */
export function headerLineOfLength(name: string, totalBytes: number): readonly [string, string] {
  const fixed = `${name}: \r\n`.length;
  if (totalBytes < fixed) throw new RangeError(`a ${name} line cannot be shorter than ${fixed} bytes`);
  return [name, 'v'.repeat(totalBytes - fixed)];
}

/** `count` distinct header fields, for head-size limits. */
export function filler(count: number, prefix = 'X-Filler'): Array<readonly [string, string]> {
  return Array.from({ length: count }, (_, i) => [`${prefix}-${i}`, 'v'] as const);
}

// --- Responses ----------------------------------------------------------------------------------------------------

export function headerValues(response: ParsedResponse, name: string): string[] {
  const wanted = name.toLowerCase();
  return response.headers.filter(([field]) => field.toLowerCase() === wanted).map(([, value]) => value);
}

export function headerValue(response: ParsedResponse, name: string): string | undefined {
  return headerValues(response, name)[0];
}

/** Whether a comma-separated header (Connection, Transfer-Encoding) lists `token`, case-insensitively. */
export function hasToken(response: ParsedResponse, name: string, token: string): boolean {
  return headerValues(response, name)
    .flatMap((value) => value.split(','))
    .some((element) => element.trim().toLowerCase() === token);
}

/** One response in words: its status line and framing, or that it had no status line. */
export function describeResponse(response: ParsedResponse | undefined): string {
  if (!response) return 'no response';
  if (response.kind === 'bare') {
    const page = parseErrorPage(response.body);
    const what = page ? `an error page (code ${page.code}, message ${show(page.message)})` : showBytes(response.body, 60);
    return `no status line: ${response.body.length} bytes, ${what}`;
  }
  const interim = response.interim.map((r) => `${r.status} ${r.reason}, then `).join('');
  const length = headerValue(response, 'content-length');
  const framing = length !== undefined ? `Content-Length ${length}` : response.framing === 'none' ? 'no body' : `${response.framing}-delimited`;
  return `${interim}${response.version} ${response.status} ${response.reason} (${framing}${response.complete ? '' : ', cut short'})`;
}

export function describeClose(close: CloseState): string {
  switch (close) {
    case 'eof':
      return 'the server closed the connection (FIN)';
    case 'reset':
      return 'the server reset the connection';
    case 'open':
      return 'the connection was still open';
    case 'timeout':
      return 'the connection neither answered nor closed in time';
  }
}

export function isClosed(close: CloseState): boolean {
  return close === 'eof' || close === 'reset';
}

/** http.server's error page (send_error's DEFAULT_ERROR_MESSAGE), read back; null when the body is not one. */
export interface ErrorPage {
  code: number;
  /** HTML-unescaped, without the full stop the page adds. */
  message: string;
  explanation: string;
}

const ERROR_PAGE = /<p>Error code: (\d+)<\/p>\s*<p>Message: ([\s\S]*?)\.<\/p>\s*<p>Error code explanation: \d+ - ([\s\S]*?)\.<\/p>/;

export function parseErrorPage(body: Buffer): ErrorPage | null {
  const match = ERROR_PAGE.exec(body.toString('utf8'));
  if (!match) return null;
  return { code: Number(match[1]), message: htmlUnescape(match[2]!), explanation: htmlUnescape(match[3]!) };
}

/** html.escape(quote=False) reversed: send_error escapes only &, < and >. */
function htmlUnescape(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

/** The only response of a conversation that must hold exactly one; fails the check otherwise. */
export function onlyResponse(conversation: Conversation, what: string): ParsedResponse {
  const [response, ...extra] = conversation.responses;
  if (!response) decide(fail(`${what}: no response, ${describeClose(conversation.close)}`));
  if (extra.length > 0) decide(fail(`${what}: ${describeResponse(response)} followed by ${extra.length} more response(s): ${showBytes(extra[0]!.raw)}`));
  return response;
}

/**
 * The Django shape of an error written before a version was accepted: http.server's error page with no status line
 * and no headers, then the connection ends. `message` is the page's message exactly, or a pattern for it.
 */
export function bareErrorPage(conversation: Conversation, code: number, message: string | RegExp, what: string): Outcome {
  const response = conversation.responses[0];
  const wanted = `an error page with no status line (code ${code}, message ${typeof message === 'string' ? show(message) : message}), then close`;
  if (!response) return fail(`${what}: no response, ${describeClose(conversation.close)}; expected ${wanted}`);
  const page = parseErrorPage(response.body);
  const messageOk = page !== null && (typeof message === 'string' ? page.message === message : message.test(page.message));
  if (response.kind !== 'bare' || !page || page.code !== code || !messageOk || conversation.responses.length > 1) {
    return fail(`${what}: ${describeResponse(response)}; expected ${wanted}`);
  }
  if (!isClosed(conversation.close)) return fail(`${what}: the error page came, then ${describeClose(conversation.close)}`);
  return pass(`${what}: error page ${code} ${show(page.message)} with no status line, then ${describeClose(conversation.close)}`);
}

// --- The probe ---------------------------------------------------------------------------------------------------

export interface ProbeAnswer {
  conversation: Conversation;
  response: ParsedResponse;
  report: ProbeReport | null;
}

/** The probe's report carried by a complete response; null when the response is not one. */
export function reportIn(response: ParsedResponse | undefined): ProbeReport | null {
  return response?.complete ? parseProbeReport(response.body) : null;
}

/**
 * Sends one request and reads the answer, which may or may not be a probe report. Reading stops with the response:
 * what the server does with the connection afterwards is not the question here.
 */
export async function askProbe(t: Trial, label: string, bytes: Buffer, method = 'GET'): Promise<ProbeAnswer> {
  const conversation = await t.exchange(label, bytes, { methods: [method], after: 'none' });
  const response = conversation.responses[0];
  if (!response) decide(fail(`${label}: no response, ${describeClose(conversation.close)}`));
  return { conversation, response, report: reportIn(response) };
}

/** The probe's report for a request that must reach the application; fails the check when it did not. */
export async function probeReport(t: Trial, label: string, bytes: Buffer, method = 'GET'): Promise<ProbeReport> {
  const answer = await askProbe(t, label, bytes, method);
  if (!answer.report) decide(fail(`${label}: the request did not reach the probe application: ${describeResponse(answer.response)}`));
  return answer.report;
}

export function environOf(report: ProbeReport, key: string): EnvironValue | undefined {
  return Object.hasOwn(report.environ, key) ? report.environ[key] : undefined;
}

/** The request body as the probe application read it. */
export function bodyRead(report: ProbeReport): Buffer {
  return Buffer.from(report.body.base64, 'base64');
}

// --- The client's side of the connection -------------------------------------------------------------------------

/** The address this host would use to reach `ep` (no packet is sent: a UDP socket is only connected). */
export async function localAddressTowards(ep: Endpoint): Promise<string> {
  const socket = dgram.createSocket(net.isIPv6(ep.host) ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(ep.port, ep.host, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

/** `::ffff:127.0.0.1` and `127.0.0.1` name the same IPv4 client. */
export function sameAddress(a: string, b: string): boolean {
  const plain = (address: string) => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase();
  return plain(a) === plain(b);
}

/** A bare TCP socket that can end with a reset (RST), the way a client that crashes or gives up does. */
export class ResettableSocket {
  private readonly written: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  closeState: CloseState = 'open';
  /** Kept from the start: a destroyed socket no longer knows its address. */
  readonly localAddress: string;
  readonly localPort: number;

  private constructor(private readonly socket: net.Socket) {
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('end', () => (this.closeState = 'eof'));
    socket.on('error', () => (this.closeState = 'reset'));
  }

  static open(ep: Endpoint, timeoutMs: number): Promise<ResettableSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: ep.host, port: ep.port, allowHalfOpen: true });
      const timer = setTimeout(() => socket.destroy(new Error(`no connection to ${hostOf(ep)} within ${timeoutMs} ms`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new ResettableSocket(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  write(bytes: Buffer): Promise<void> {
    this.written.push(bytes);
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /** Ends the connection with RST instead of FIN. */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
    this.closeState = 'reset';
  }

  destroy(): void {
    this.socket.destroy();
  }

  sent(): Buffer {
    return Buffer.concat(this.written);
  }

  received(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// --- Logs -----------------------------------------------------------------------------------------------------------

/** One line of a target's log: Django's `[time] message`, the reference's JSON form (with a level), or raw text. */
export interface LogLine {
  time: string | null;
  level: string | null;
  message: string;
  raw: string;
}

const BRACKETED = /^\[([^\]]+)\] ?(.*)$/s;

export function parseLogLine(raw: string): LogLine {
  if (raw.startsWith('{')) {
    try {
      const record = JSON.parse(raw) as { time?: unknown; level?: unknown; message?: unknown };
      if (typeof record.message === 'string') {
        return {
          time: typeof record.time === 'string' ? record.time : null,
          level: typeof record.level === 'string' ? record.level.toUpperCase() : null,
          message: record.message.replace(/\n$/, ''),
          raw,
        };
      }
    } catch {
      // Not a JSON record: read as text below.
    }
  }
  const match = BRACKETED.exec(raw);
  return match ? { time: match[1]!, level: null, message: match[2]!, raw } : { time: null, level: null, message: raw, raw };
}

/** The log lines this check caused; skips the check when the harness does not own the target's log. */
export async function logLines(t: Trial): Promise<LogLine[]> {
  if (!t.ctx.log) decide(notApplicable("needs the target's log"));
  return (await t.ctx.log.lines()).map(parseLogLine);
}

/** Django's log time: `dd/Mon/yyyy hh:mm:ss` (BaseHTTPRequestHandler.log_date_time_string). */
export const LOG_TIME = /^\d{2}\/[A-Z][a-z]{2}\/\d{4} \d{2}:\d{2}:\d{2}$/;

/** A path no other check or client uses, so its log line can be picked out of a shared log. */
export function uniquePath(tag: string): string {
  return `/h1spec-${tag}-${process.pid.toString(36)}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

// --- Shared shapes of checks ----------------------------------------------------------------------------------------

/**
 * How long a check watches for something a conforming server does at once (a 100 Continue, an answer to a TLS hello,
 * an answer to a second client) before acting on its absence. A fifth of the check's time, at most a second.
 */
export function patienceMs(t: Trial): number {
  return Math.min(1000, Math.floor(t.ctx.timeoutMs / 5));
}

/** A request line as given, then Host and `Connection: close`, for servers that read on past a malformed line. */
export function withRequestLine(ep: Endpoint, requestLine: string): Buffer {
  return Buffer.from(`${requestLine}\r\nHost: ${hostOf(ep)}\r\nConnection: close\r\n\r\n`, 'latin1');
}

/** Whether a response's head arrived whole: it is complete, or its body is still coming (an incomplete head has no framing yet). */
export function headArrived(response: ParsedResponse): boolean {
  return response.kind === 'status' && (response.complete || response.framing !== 'none');
}

/** A complete response with a status below 400: the server handled the request normally. */
export function isServed(response: ParsedResponse | undefined): response is ParsedResponse {
  return response !== undefined && response.kind === 'status' && response.complete && response.status >= 200 && response.status < 400;
}

/** A response the server made of an error: a status of 400 or more, or a page with no status line. */
export function isErrorResponse(response: ParsedResponse): boolean {
  return response.kind === 'bare' || response.status >= 400;
}
