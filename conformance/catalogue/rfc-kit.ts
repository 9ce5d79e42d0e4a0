/**
 * What the RFC 9112/9110 checks (rfc-*.ts) share: one way to hold a conversation that shows whether the server kept
 * its framing (a follow-up request after the answers, then end of stream), and one judge that accepts every outcome
 * the RFC allows (reject with one of some statuses, close without a word, or serve correctly) and names the one seen.
 *
 * How misframing shows: a request's body is itself a complete request to SMUGGLED_PATH wherever it can be, so a server
 * that frames the body short answers it; and after the answers a LIVENESS_PATH request (Connection: close) goes out,
 * followed by end of stream. A server in step answers that request and nothing else, or closes; any other response
 * is an answer to bytes that were not a request. The end of stream keeps a server that still waits for body bytes
 * from holding the check until its time runs out: it reads the end and closes.
 */
import { parseProbeReport, type ProbeReport } from '../probes/contract.ts';
import { request } from '../wire/request.ts';
import type { Conversation, Endpoint, ParsedResponse, Writable } from '../wire/types.ts';
import {
  bodyRead,
  decide,
  defineCheck,
  describeClose,
  describeResponse,
  environOf,
  fail,
  hostOf,
  inconclusive,
  notApplicable,
  pass,
  show,
  showBytes,
  type HeaderLines,
  type Outcome,
  type Trial,
} from './check-kit.ts';
import type { Level, Needs, Requirement } from './types.ts';

/** The target of the requests the RFC checks send. */
export const RFC_PATH = '/h1spec-rfc';
/** The path of a request hidden in a body: a response to it means the server framed the body short. */
export const SMUGGLED_PATH = '/h1spec-smuggled';
/** The path of the follow-up request that asks whether the connection is still served, and in step. */
export const LIVENESS_PATH = '/h1spec-liveness';

export interface RfcCheck {
  id: string;
  title: string;
  level: Level;
  /** The RFC 9112 / RFC 9110 sections the requirement comes from. */
  source: string;
  needs?: Needs;
  /** Every acceptable outcome, in words. */
  expected: string;
  run(t: Trial): Promise<Outcome>;
}

/** A requirement of the `rfc` profile. */
export function rfcRequirement(check: RfcCheck): Requirement {
  return {
    id: check.id,
    title: check.title,
    profiles: ['rfc'],
    level: check.level,
    source: check.source,
    needs: check.needs ?? {},
    check: defineCheck(check.expected, check.run),
  };
}

// --- Requests --------------------------------------------------------------------------------------------------------

/** A request to RFC_PATH with Host first, then `headers`; no Connection header, so an HTTP/1.1 connection stays open. */
export function rfcRequest(ep: Endpoint, method: string, headers: HeaderLines = [], body?: Buffer | string, version = 'HTTP/1.1'): Buffer {
  return request(method, RFC_PATH, version, [['Host', hostOf(ep)], ...headers], body);
}

/** A request head written line by line exactly as given (lines may be malformed), then the blank line. */
export function head(lines: readonly string[]): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** `requestLine` as given (it may be malformed), then Host and the raw `lines`; no Connection header. */
export function withLine(ep: Endpoint, requestLine: string, lines: readonly string[] = []): Buffer {
  return head([requestLine, `Host: ${hostOf(ep)}`, ...lines]);
}

/**
 * A complete GET to SMUGGLED_PATH, used as a body: a server that does not read it as body answers it. Its Host is fixed
 * so that the body, and what the application must read, is the same whatever the target.
 */
export const SMUGGLED_REQUEST: Buffer = request('GET', SMUGGLED_PATH, 'HTTP/1.1', [['Host', 'h1spec.test']]);

function livenessRequest(ep: Endpoint): Buffer {
  return request('GET', LIVENESS_PATH, 'HTTP/1.1', [['Host', hostOf(ep)], ['Connection', 'close']]);
}

/** The chunked coding of `pieces`, one chunk each, then the last chunk and an empty trailer section. */
export function chunked(...pieces: Array<string | Buffer>): Buffer {
  const parts = pieces.flatMap((piece) => {
    const data = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
    return [Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, Buffer.from('\r\n', 'latin1')];
  });
  return Buffer.concat([...parts, Buffer.from('0\r\n\r\n', 'latin1')]);
}

// --- The conversation ------------------------------------------------------------------------------------------------

export interface Dialogue {
  conversation: Conversation;
  /** The responses to the check's own requests, as many as arrived (one per method given). */
  answers: ParsedResponse[];
  /** Every response after those. */
  extra: ParsedResponse[];
  /** Whether the liveness request went out after the answers (it does when the connection was still open). */
  followed: boolean;
}

export interface ConverseOptions {
  /** One per request in the bytes; `['POST']` by default. */
  methods?: readonly string[];
  /**
   * End our side right after the bytes and send no follow-up: for requests whose declared body is longer than what is
   * sent, where a server may rightly wait for the rest until the end of stream.
   */
  halfClose?: boolean;
}

/**
 * Writes `bytes`, reads the answers, then (while the connection is open) writes the liveness request and ends our
 * side; reads until the server closes. The conversation becomes evidence; a wait that runs out makes the check
 * inconclusive.
 */
export async function converse(t: Trial, label: string, bytes: Writable, options: ConverseOptions = {}): Promise<Dialogue> {
  const methods = options.methods ?? ['POST'];
  const connection = await t.connect(label);
  const deadline = t.deadline();
  let followed = false;
  try {
    await connection.write(bytes, deadline);
    if (options.halfClose) connection.endWrite();
    await connection.readResponses(methods, methods.length, deadline);
    if (!options.halfClose && connection.conversation().close === 'open') {
      await connection.write(livenessRequest(t.endpoint), deadline);
      connection.endWrite();
      followed = true;
    }
    await connection.waitForClose(deadline);
  } finally {
    deadline.cancel();
  }
  const conversation = t.recordConnection(connection);
  if (conversation.close === 'timeout') {
    decide(inconclusive(`${label}: the server neither answered nor closed within ${t.ctx.timeoutMs} ms; received ${showBytes(conversation.received)}`));
  }
  return {
    conversation,
    answers: conversation.responses.slice(0, methods.length),
    extra: conversation.responses.slice(methods.length),
    followed,
  };
}

// --- Reading responses -----------------------------------------------------------------------------------------------

/** The probe's report in a complete response, or null (not a probe target, or not the application's answer). */
function reportOf(response: ParsedResponse): ProbeReport | null {
  return response.kind === 'status' && response.complete ? parseProbeReport(response.body) : null;
}

function pathOf(report: ProbeReport | null): string | undefined {
  const path = report ? environOf(report, 'PATH_INFO') : undefined;
  return typeof path === 'string' ? path : undefined;
}

/** A status the server gives a request it processed: success or redirection, or "no such resource" from a server that routes. */
function isServedStatus(status: number): boolean {
  return (status >= 200 && status < 400) || status === 404 || status === 405;
}

function answersSmuggled(response: ParsedResponse): boolean {
  return pathOf(reportOf(response)) === SMUGGLED_PATH;
}

/** Whether `response` is the answer to the liveness request: the probe says so, or (without the probe) a plain answer. */
function answersLiveness(response: ParsedResponse): boolean {
  if (response.kind !== 'status') return false;
  const report = reportOf(response);
  if (report) return pathOf(report) === LIVENESS_PATH && environOf(report, 'REQUEST_METHOD') === 'GET';
  return isServedStatus(response.status);
}

/** The answer to the liveness request: it went out last, so it is the last response, if the server answered it. */
function livenessAnswer(d: Dialogue): ParsedResponse | undefined {
  const last = d.extra[d.extra.length - 1];
  return d.followed && last && answersLiveness(last) ? last : undefined;
}

/** Whether the server answered the liveness request, i.e. kept serving the connection after the answers. */
function stayedOpen(d: Dialogue): boolean {
  return livenessAnswer(d) !== undefined;
}

/** What the server did after its answers, in words. */
function afterAnswers(d: Dialogue): string {
  if (stayedOpen(d)) return 'the connection stayed open (the next request was answered)';
  return describeClose(d.conversation.close);
}

/** Responses to bytes that were not a request (part of a body, or whatever a misframing left), in words; null when none. */
function desync(d: Dialogue): string | null {
  const smuggled = d.conversation.responses.find(answersSmuggled);
  if (smuggled) return `the request hidden in the body (${SMUGGLED_PATH}) was answered: ${describeResponse(smuggled)}`;
  const unexpected = stayedOpen(d) ? d.extra.slice(0, -1) : d.extra;
  if (unexpected.length === 0) return null;
  return `${unexpected.length} more response(s) to bytes that were not a request, first ${describeResponse(unexpected[0])}: ${showBytes(unexpected[0]!.raw, 80)}`;
}

// --- Judging -----------------------------------------------------------------------------------------------------------

/** How a served request must look. */
export interface Service {
  /** In words, for `expected`. */
  expect: string;
  /** Null when the served response is right, else what is wrong. */
  judge(response: ParsedResponse, report: ProbeReport | null): string | null;
  /** Only the probe's report shows whether the service is right: a check that can see a served request needs the probe. */
  needsProbe?: boolean;
}

export interface Acceptance {
  /** Statuses that reject the request; empty or absent when it must be served. */
  reject?: readonly number[];
  /** The RFC asks the server to close the connection after rejecting. */
  closeAfterReject?: boolean;
  /** Closing without any response is acceptable (by default whenever rejecting is). */
  silentClose?: boolean;
  /** The request may be served, and how it must look then; absent when serving it fails the check. */
  serve?: Service;
  /** The RFC asks the server to close the connection after serving. */
  closeAfterServe?: boolean;
}

/** `expected` for an Acceptance: every acceptable outcome in words. */
export function describeAcceptance(a: Acceptance): string {
  const outcomes: string[] = [];
  const reject = a.reject ?? [];
  if (reject.length > 0) outcomes.push(`a ${reject.join(' or ')} response${a.closeAfterReject ? ', then the connection closed' : ''}`);
  if (a.silentClose ?? reject.length > 0) outcomes.push('the connection closed without a response');
  if (a.serve) outcomes.push(`the request served (${a.serve.expect})${a.closeAfterServe ? ', then the connection closed' : ''}`);
  return `${outcomes.join(', or ')}; never a response to bytes that were not a request`;
}

/** The verdict on a dialogue: which acceptable outcome was seen, or why none was. */
export function judge(d: Dialogue, a: Acceptance): Outcome {
  const reject = a.reject ?? [];
  const unsynced = desync(d);
  const [first] = d.answers;
  if (!first) {
    if (unsynced) return fail(unsynced);
    const closed = `no response; ${describeClose(d.conversation.close)}`;
    return (a.silentClose ?? reject.length > 0) ? pass(closed) : fail(`${closed}, the request was not served`);
  }
  const seen = describeResponse(first);
  if (first.kind === 'bare') return fail(`answered without a status line: ${seen}`);
  if (reject.includes(first.status)) {
    if (unsynced) return fail(`${seen}, then ${unsynced}`);
    if (a.closeAfterReject && stayedOpen(d)) return fail(`${seen}, but then ${afterAnswers(d)}; the connection must close`);
    return pass(`rejected: ${seen}, then ${afterAnswers(d)}`);
  }
  // A response cut short (the connection ended before its framing did) served nothing, whatever its status.
  if (a.serve && isServedStatus(first.status) && first.complete) {
    const problem = a.serve.judge(first, reportOf(first));
    if (problem) return fail(`served (${seen}), but ${problem}`);
    if (unsynced) return fail(`served (${seen}), then ${unsynced}`);
    if (a.closeAfterServe && stayedOpen(d)) return fail(`served (${seen}), but then ${afterAnswers(d)}; the connection must close`);
    return pass(`served: ${seen} (${a.serve.expect}), then ${afterAnswers(d)}`);
  }
  return fail(`${seen}${unsynced ? `, then ${unsynced}` : ''}`);
}

/** A check of one request on one connection, judged by an Acceptance; it needs the probe when its service does. */
export function singleRequestCheck(
  check: Omit<RfcCheck, 'expected' | 'run'> & {
    acceptance: Acceptance;
    label: string;
    request(ep: Endpoint): Writable;
    options?: ConverseOptions;
  },
): Requirement {
  return rfcRequirement({
    ...check,
    needs: check.needs ?? (check.acceptance.serve?.needsProbe ? { probe: true } : {}),
    expected: describeAcceptance(check.acceptance),
    run: async (t) => judge(await converse(t, check.label, check.request(t.endpoint), check.options), check.acceptance),
  });
}

/** A GET to RFC_PATH with the field `lines` after Host, written exactly as given. */
export function fieldLinesCheck(
  check: Omit<RfcCheck, 'expected' | 'run' | 'needs'> & { what: string; lines: readonly string[]; acceptance: Acceptance },
): Requirement {
  const { what, lines, ...rest } = check;
  return singleRequestCheck({
    ...rest,
    label: `GET with ${what}`,
    request: (ep) => withLine(ep, `GET ${RFC_PATH} HTTP/1.1`, lines),
    options: { methods: ['GET'] },
  });
}

// --- Services: what the probe must have seen ------------------------------------------------------------------------

/** The body the application read must be one of `wanted` (checked when the target runs the probe). */
export function oneOfBodies(wanted: readonly Buffer[], words: string): Service {
  return {
    expect: words,
    judge: (_response, report) => {
      if (!report) return null;
      const read = bodyRead(report);
      return wanted.some((body) => read.equals(body)) ? null : `the application read ${showBytes(read, 80)}, not ${wanted.map((body) => showBytes(body, 80)).join(' or ')}`;
    },
  };
}

export function bodyIs(wanted: string, words: string): Service {
  return oneOfBodies([Buffer.from(wanted, 'latin1')], words);
}

/** A size that wrapped around at 2^64 shows as the application reading just "hello". */
export const notWrapped: Service = {
  expect: 'the declared size not wrapped around (the application did not read "hello" alone)',
  judge: (_response, report) => (report && bodyRead(report).toString('latin1') === 'hello' ? 'the application read "hello": the size wrapped around' : null),
};

/** Judges the probe's report; when the target does not run the probe the service cannot be seen, and the check is skipped. */
export function reportSays(words: string, judgeReport: (report: ProbeReport) => string | null): Service {
  return {
    expect: words,
    needsProbe: true,
    judge: (response, report) => {
      if (!report) decide(notApplicable(`the request was served (${describeResponse(response)}) but not by the probe application, so what it received cannot be seen`));
      return judgeReport(report);
    },
  };
}

/** Keys of the reported environ holding `fragment` in their name: where a field the server should have dropped ended up. */
export function environKeysWith(report: ProbeReport, fragment: string): string[] {
  return Object.keys(report.environ).filter((key) => key.includes(fragment));
}

/** The environ value of `key` as the probe reported it, for messages. */
export function environText(report: ProbeReport, key: string): string {
  return show(environOf(report, key));
}
