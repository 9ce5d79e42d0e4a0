/**
 * Plans and judges for the fuzz properties: how to send a case and what must come back, per profile. The django
 * profile is judged against the model (model.ts) response by response; the wsgi and rfc profiles by the rules SPEC
 * gives any server, accepting every outcome those rules allow.
 */
import type { ServerMode } from '../catalogue/types.ts';
import { parseProbeReport, type EnvironValue, type ProbeReport } from '../probes/contract.ts';
import { escapeBytes } from '../wire/escape.ts';
import { parseResponses } from '../wire/response-parser.ts';
import type { Endpoint, ParsedResponse } from '../wire/types.ts';
import { caseBytes, cutPoints, requestsOf, segmentsOf, type RequestSpec, type WireCase } from './cases.ts';
import { SENTINEL_PATH, SENTINEL_REQUEST, STALL_PATH, type Mismatch, type Plan } from './drive.ts';
import { APP_ERROR_BODY, djangoEnviron, environKeyOf, errorPageLines, reportOpening, simulate, type AppStep, type ErrorStep, type Step } from './model.ts';

/** What the harness knows of a target before it fuzzes it. */
export interface TargetFacts {
  endpoint: Endpoint;
  mode: ServerMode;
  /** The target answers with the probe contract. */
  probe: boolean;
}

const SHOWN_BYTES = 160;
/** send_error's headers, in the order CPython writes them (ERR-FORMAT). */
const ERROR_HEADER_ORDER = ['server', 'date', 'connection', 'content-type', 'content-length'];

const ENVIRON_KEY_IDS: Record<string, string> = {
  GATEWAY_INTERFACE: 'ENV-GATEWAY-INTERFACE',
  REMOTE_HOST: 'ENV-REMOTE-HOST',
  SCRIPT_NAME: 'ENV-SCRIPT-NAME',
  SERVER_PROTOCOL: 'ENV-SERVER-PROTOCOL',
  SERVER_SOFTWARE: 'ENV-SERVER-SOFTWARE',
  REQUEST_METHOD: 'ENV-REQUEST-METHOD',
  PATH_INFO: 'ENV-PATH-INFO',
  QUERY_STRING: 'ENV-QUERY-STRING',
  CONTENT_TYPE: 'ENV-CONTENT-TYPE',
  CONTENT_LENGTH: 'ENV-CONTENT-LENGTH',
};

export function headerValues(response: ParsedResponse, name: string): string[] {
  const wanted = name.toLowerCase();
  return response.headers.filter(([n]) => n.toLowerCase() === wanted).map(([, v]) => v);
}

export function show(value: unknown): string {
  if (Buffer.isBuffer(value)) return `"${escapeBytes(value, SHOWN_BYTES)}"`;
  if (typeof value === 'string') return `"${escapeBytes(Buffer.from(value, 'latin1'), SHOWN_BYTES)}"`;
  return JSON.stringify(value) ?? String(value);
}

function describe(response: ParsedResponse): string {
  if (response.kind === 'bare') return `a bare body ${show(response.body)}`;
  return `${response.version} ${response.status} ${show(response.reason)}${response.complete ? '' : ' (cut short)'}`;
}

const mismatch = (id: string, expected: string, seen: string): Mismatch => ({ id, expected, seen });

/** The client's address as the server sees it, when the endpoint names it (an IP literal on this host). */
function clientAddress(endpoint: Endpoint): string | null {
  if (endpoint.host === '127.0.0.1' || endpoint.host === '::1') return endpoint.host;
  return null;
}

/** A probe report answering one of the harness's own sentinels, not the request it should answer. */
function answersSentinel(report: ProbeReport): boolean {
  return report.environ['PATH_INFO'] === SENTINEL_PATH || report.environ['PATH_INFO'] === STALL_PATH;
}

function sameEnvironValue(seen: EnvironValue | undefined, wanted: EnvironValue): boolean {
  return JSON.stringify(seen) === JSON.stringify(wanted);
}

/** The environ keys every WSGI server owes its application whatever the request (ENV-SERVER-*, ENV-REMOTE-ADDR, ENV-WSGI-VARS). */
function judgeServerKeys(report: ProbeReport, facts: TargetFacts, profile: 'django' | 'wsgi'): Mismatch | null {
  const env = report.environ;
  if (env['SERVER_PORT'] !== String(facts.endpoint.port)) return mismatch('ENV-SERVER-PORT', `SERVER_PORT "${facts.endpoint.port}"`, `SERVER_PORT ${show(env['SERVER_PORT'])}`);
  if (typeof env['SERVER_NAME'] !== 'string' || env['SERVER_NAME'] === '') return mismatch('ENV-SERVER-NAME', 'a non-empty SERVER_NAME', `SERVER_NAME ${show(env['SERVER_NAME'])}`);
  const address = clientAddress(facts.endpoint);
  if (address !== null && env['REMOTE_ADDR'] !== address) return mismatch('ENV-REMOTE-ADDR', `REMOTE_ADDR "${address}"`, `REMOTE_ADDR ${show(env['REMOTE_ADDR'])}`);
  const wsgi: Record<string, EnvironValue> = { 'wsgi.version': [1, 0], 'wsgi.url_scheme': 'http', 'wsgi.run_once': false };
  if (profile === 'django') Object.assign(wsgi, { 'wsgi.multithread': true, 'wsgi.multiprocess': false });
  for (const [key, value] of Object.entries(wsgi)) {
    if (!sameEnvironValue(env[key], value)) return mismatch('ENV-WSGI-VARS', `${key} ${show(value)}`, `${key} ${show(env[key])}`);
  }
  const objects = profile === 'django' ? ['wsgi.input', 'wsgi.errors', 'wsgi.file_wrapper'] : ['wsgi.input', 'wsgi.errors'];
  const absent = objects.find((key) => !(key in report.objects) && !(key in env));
  if (absent) return mismatch('ENV-WSGI-VARS', `${absent} present`, `no ${absent}`);
  return null;
}

// --- The django profile: the model ---------------------------------------------------------------------------------

/** The ID a wrong answer to a step counts against. */
function blame(step: Step): string {
  return step.after ?? (step.kind === 'error' ? step.id : step.ids[0]!);
}

function judgeError(step: ErrorStep, response: ParsedResponse): Mismatch | null {
  const id = blame(step);
  const wanted = `${step.bare ? 'a bare error page' : `HTTP/1.1 ${step.status} ${show(step.message)}`} (error code ${step.status})`;
  const page = errorPageLines(step.status, step.message);
  if (step.bare) {
    if (response.kind !== 'bare') return mismatch(id, wanted, describe(response));
    if (!page.every((line) => response.body.includes(line))) return mismatch(id, `${wanted} with ${page.map(show).join(' and ')}`, describe(response));
    return null;
  }
  if (response.kind !== 'status' || response.status !== step.status || response.reason !== step.message) return mismatch(id, wanted, describe(response));
  const names = response.headers.map(([name]) => name.toLowerCase());
  if (names.join(',') !== ERROR_HEADER_ORDER.join(',')) return mismatch('ERR-FORMAT', `headers ${ERROR_HEADER_ORDER.join(', ')}`, `headers ${names.join(', ')}`);
  if (headerValues(response, 'connection')[0]?.toLowerCase() !== 'close') return mismatch('ERR-FORMAT', 'Connection: close', `Connection: ${headerValues(response, 'connection')[0]}`);
  if (step.head) {
    if (response.body.length > 0) return mismatch('ERR-HEAD-NO-BODY', 'no body after the head (the request was HEAD)', `${response.body.length} body bytes`);
    return null;
  }
  if (headerValues(response, 'content-length')[0] !== String(response.body.length)) {
    return mismatch('ERR-FORMAT', `Content-Length equal to the page (${response.body.length})`, `Content-Length ${headerValues(response, 'content-length')[0]}`);
  }
  if (!page.every((line) => response.body.includes(line))) return mismatch(id, `an error page with ${page.map(show).join(' and ')}`, `body ${show(response.body)}`);
  return null;
}

function judgeEnviron(step: AppStep, report: ProbeReport, facts: TargetFacts): Mismatch | null {
  const env = report.environ;
  const keyId = (key: string): string => (step.underscoreKeys.includes(key) ? 'HDR-UNDERSCORE-STRIP' : key.startsWith('HTTP_') ? 'ENV-HTTP-VARS' : (ENVIRON_KEY_IDS[key] ?? 'ENV-HTTP-VARS'));
  for (const [key, value] of Object.entries(step.environ)) {
    if (env[key] !== value) return mismatch(keyId(key), `${key} ${show(value)}`, key in env ? `${key} ${show(env[key])}` : `no ${key}`);
  }
  const extra = Object.keys(env).find((key) => key.startsWith('HTTP_') && !(key in step.environ));
  if (extra !== undefined) return mismatch(keyId(extra), `no ${extra}`, `${extra} ${show(env[extra])}`);
  return judgeServerKeys(report, facts, 'django');
}

function judgeApp(step: AppStep, response: ParsedResponse, facts: TargetFacts): Mismatch | null {
  const id = blame(step);
  const interim = response.interim.some((r) => r.status === 100);
  if (interim !== step.interim100) {
    return mismatch('EXP-100-CONTINUE', step.interim100 ? 'HTTP/1.1 100 Continue before the response' : 'no 100 Continue', interim ? 'a 100 Continue' : 'no 100 Continue');
  }
  if (step.bare) {
    if (response.kind !== 'bare') return mismatch('RL-HTTP09', 'the application body alone, no status line (HTTP/0.9)', describe(response));
    const opening = step.failure === 'before' ? Buffer.from(APP_ERROR_BODY, 'latin1') : reportOpening(step.bodyRead);
    if (!response.body.subarray(0, opening.length).equals(opening)) return mismatch(id, `a body starting ${show(opening)}`, describe(response));
    return null;
  }
  if (response.kind !== 'status' || response.status !== step.status) return mismatch(id, `a ${step.status} response from the application`, describe(response));
  const length = headerValues(response, 'content-length');
  if ((length.length > 0) !== step.hasLength) {
    return mismatch(step.hasLength ? id : 'KA-NO-LENGTH-CLOSE', step.hasLength ? 'a Content-Length' : 'no Content-Length', length.length > 0 ? `Content-Length ${length[0]}` : 'no Content-Length');
  }
  const closes = headerValues(response, 'connection').some((v) => v.toLowerCase() === 'close');
  if (closes !== step.connectionClose) {
    return mismatch(step.connectionClose ? step.closeId : id, step.connectionClose ? 'Connection: close' : 'no Connection: close', closes ? 'Connection: close' : 'no Connection header');
  }
  if (step.failure === 'before') {
    if (response.body.toString('latin1') !== APP_ERROR_BODY) return mismatch('ERR-APP-EXCEPTION', show(APP_ERROR_BODY), `body ${show(response.body)}`);
    return null;
  }
  if (step.failure === 'after') {
    const opening = reportOpening(step.bodyRead);
    if (!response.body.equals(opening)) return mismatch('ERR-APP-EXCEPTION-LATE', `the first chunk alone, ${show(opening)}, then the close`, `body ${show(response.body)}`);
    return null;
  }
  const report = parseProbeReport(response.body);
  if (!report) return mismatch(id, 'a probe report', `body ${show(response.body)}`);
  if (answersSentinel(report) && report.environ['PATH_INFO'] !== step.environ['PATH_INFO']) return mismatch(id, `the answer to ${show(step.requestLine)}`, `the answer to the harness's ${show(report.environ['PATH_INFO'])} in its place: the request was never answered`);
  if (report.environ['REQUEST_METHOD'] !== step.method || report.environ['PATH_INFO'] !== step.environ['PATH_INFO']) {
    return mismatch(step.after ?? 'KA-PIPELINE', `the answer to ${show(step.requestLine)}`, `the answer to ${show(report.environ['REQUEST_METHOD'])} ${show(report.environ['PATH_INFO'])}`);
  }
  const environ = judgeEnviron(step, report, facts);
  if (environ) return environ;
  const body = Buffer.from(report.body.base64, 'base64');
  if (!body.equals(step.bodyRead)) return mismatch(step.after ?? (step.actions.read !== null ? 'KA-UNREAD-BODY' : 'ENV-BODY'), `the application read ${show(step.bodyRead)}`, `it read ${show(body)}`);
  return null;
}

function djangoJudge(steps: readonly Step[], facts: TargetFacts) {
  return {
    judge: (index: number, response: ParsedResponse): Mismatch | null => {
      const step = steps[index]!;
      return step.kind === 'error' ? judgeError(step, response) : judgeApp(step, response, facts);
    },
    missing: (index: number): Mismatch => {
      const step = steps[index]!;
      const previous = steps[index - 1];
      const wanted = step.kind === 'error' ? `error ${step.status}` : `a response to ${show(step.requestLine)}`;
      return mismatch(previous && step.after === null ? previous.closeId : blame(step), `${wanted} (response ${index + 1})`, 'the connection ended before it');
    },
  };
}

/**
 * The case's cut points that fall inside what the server reads: bytes it never reads go out with the last bytes it
 * does, since a later write would meet the closed socket, and the reset it draws can destroy the answer in flight.
 */
function splitsBefore(wireCase: WireCase, length: number, consumed: number): number[] {
  return cutPoints(wireCase.splits, length).filter((at) => at < consumed);
}

/** The case with only the cut points a django-profile server reads up to (see splitsBefore). */
export function djangoSafeSplits(wireCase: WireCase, facts: TargetFacts): WireCase {
  const bytes = caseBytes(wireCase);
  const run = simulate(bytes, { threaded: facts.mode === 'threaded', eof: true });
  return { ...wireCase, splits: splitsBefore(wireCase, bytes.length, run.consumed) };
}

/** A bare (HTTP/0.9) application body on a connection that stays open runs into whatever follows: nothing after it can be framed. */
const unframed = (step: Step): boolean => step.kind === 'app' && step.bare && !step.closeAfter;

/** How to send a case to a django-profile target, and every response the model says must come back. */
export function djangoPlan(wireCase: WireCase, facts: TargetFacts): Plan {
  const bytes = caseBytes(wireCase);
  const threaded = facts.mode === 'threaded';
  let run = simulate(bytes, { threaded, eof: false });
  let trailer = Buffer.alloc(0);
  let halfClose = false;
  if (run.end === 'open' && !run.steps.some(unframed)) {
    trailer = SENTINEL_REQUEST;
    run = simulate(Buffer.concat([bytes, trailer]), { threaded, eof: false });
  } else if (run.end !== 'close') {
    halfClose = true;
    run = simulate(bytes, { threaded, eof: true });
  }
  const cut = run.steps.findIndex(unframed);
  const steps = cut >= 0 ? run.steps.slice(0, cut + 1) : run.steps;
  const lastStep = steps.at(-1);
  const splits = splitsBefore(wireCase, bytes.length, run.consumed);
  return {
    segments: segmentsOf(bytes, splits, trailer),
    halfClose,
    methods: steps.map((step) => (step.kind === 'error' && step.head ? 'HEAD' : 'GET')),
    end: cut >= 0 ? 'any' : run.end === 'open' ? 'open' : 'close',
    endId: lastStep?.closeId ?? run.endId,
    ...djangoJudge(steps, facts),
  };
}

// --- The wsgi profile: the environ any WSGI server owes --------------------------------------------------------------

/** PEP 3333's mapping for the sane requests the wsgi arbitraries make: one answer, read as a probe report. */
export function wsgiEnvironPlan(wireCase: WireCase, facts: TargetFacts): Plan {
  const spec = requestsOf(wireCase)[0]!;
  return {
    segments: segmentsOf(caseBytes(wireCase), wireCase.splits),
    halfClose: false,
    methods: [spec.method],
    end: 'any',
    endId: 'KA-PIPELINE',
    judge: (_index, response) => judgeWsgiEnviron(spec, response, facts),
    // A server may refuse a request it finds odd by closing; that says nothing about its environ.
    missing: () => null,
  };
}

function judgeWsgiEnviron(spec: RequestSpec, response: ParsedResponse, facts: TargetFacts): Mismatch | null {
  const report = response.kind === 'status' && response.status === 200 ? parseProbeReport(response.body) : null;
  // A server that refuses the request (400, 501, ...) owes no environ for it.
  if (!report) return null;
  const env = report.environ;
  const wanted = djangoEnviron(spec.method, spec.target, spec.version, spec.headers);
  for (const key of ['REQUEST_METHOD', 'PATH_INFO', 'QUERY_STRING', 'SERVER_PROTOCOL']) {
    if (env[key] !== wanted[key]) return mismatch(ENVIRON_KEY_IDS[key]!, `${key} ${show(wanted[key])}`, `${key} ${show(env[key])}`);
  }
  if (env['SCRIPT_NAME'] !== undefined && env['SCRIPT_NAME'] !== '') return mismatch('ENV-SCRIPT-NAME', 'SCRIPT_NAME ""', `SCRIPT_NAME ${show(env['SCRIPT_NAME'])}`);
  for (const key of ['HTTP_CONTENT_LENGTH', 'HTTP_CONTENT_TYPE']) {
    if (key in env) return mismatch(key === 'HTTP_CONTENT_LENGTH' ? 'ENV-CONTENT-LENGTH' : 'ENV-CONTENT-TYPE', `no ${key}`, `${key} ${show(env[key])}`);
  }
  const dashed = spec.headers.filter(([name]) => !name.includes('_'));
  for (const [name, value] of spec.headers.filter(([n]) => n.includes('_'))) {
    const key = environKeyOf(name);
    // An HTTP_ key holds the dashed twins' values alone; CONTENT_* must not take the underscore header's value.
    const leaked = key.startsWith('HTTP_') ? env[key] !== wanted[key] : env[key] === value && !dashed.some(([n, v]) => environKeyOf(n) === key && v === value);
    if (leaked) {
      const allowed = key.startsWith('HTTP_') && wanted[key] !== undefined ? `${key} ${show(wanted[key])} (the dashed header alone)` : `nothing in ${key} from ${show(name)}`;
      return mismatch('HDR-UNDERSCORE-STRIP', allowed, key in env ? `${key} ${show(env[key])}` : `no ${key}`);
    }
  }
  for (const [key, value] of Object.entries(wanted)) {
    if (key.startsWith('HTTP_') && env[key] !== value) return mismatch('ENV-HTTP-VARS', `${key} ${show(value)}`, key in env ? `${key} ${show(env[key])}` : `no ${key}`);
  }
  if (wanted['CONTENT_LENGTH'] !== '' && env['CONTENT_LENGTH'] !== wanted['CONTENT_LENGTH']) {
    return mismatch('ENV-CONTENT-LENGTH', `CONTENT_LENGTH ${show(wanted['CONTENT_LENGTH'])}`, `CONTENT_LENGTH ${show(env['CONTENT_LENGTH'])}`);
  }
  const sentType = dashed.find(([n]) => n.toLowerCase() === 'content-type');
  if (sentType && env['CONTENT_TYPE'] !== sentType[1]) return mismatch('ENV-CONTENT-TYPE', `CONTENT_TYPE ${show(sentType[1])}`, `CONTENT_TYPE ${show(env['CONTENT_TYPE'])}`);
  const body = Buffer.from(report.body.base64, 'base64');
  if (body.toString('latin1') !== spec.body) return mismatch('ENV-BODY', `the application read ${show(spec.body)}`, `it read ${show(body)}`);
  return judgeServerKeys(report, facts, 'wsgi');
}

// --- The rfc profile: framing and persistence any origin server owes -------------------------------------------------

function connectionTokens(spec: RequestSpec): string[] {
  return spec.headers
    .filter(([name]) => name.toLowerCase() === 'connection')
    .flatMap(([, value]) => value.split(','))
    .map((token) => token.trim().toLowerCase());
}

/** Whether RFC 9112 §9.3 has the server close after answering this request. */
function closesAfter(spec: RequestSpec): { closes: boolean; id: string } {
  const tokens = connectionTokens(spec);
  if (tokens.includes('close')) return { closes: true, id: 'KA-CONNECTION-CLOSE' };
  if (spec.version === 'HTTP/1.0' && !tokens.includes('keep-alive')) return { closes: true, id: 'KA-HTTP10-CLOSE' };
  return { closes: false, id: 'KA-HTTP11-PERSIST' };
}

/** For well-formed pipelines: one complete response per request, in order, and the close exactly where the rules say. */
export function rfcPipelinePlan(wireCase: WireCase, facts: TargetFacts): Plan {
  const requests = requestsOf(wireCase);
  const closing = requests.findIndex((spec) => closesAfter(spec).closes);
  const answered = closing >= 0 ? requests.slice(0, closing + 1) : [...requests, sentinelSpec()];
  const end = closing >= 0 ? closesAfter(requests[closing]!) : { closes: false, id: 'KA-HTTP11-PERSIST' };
  return {
    segments: segmentsOf(caseBytes(wireCase), wireCase.splits, closing >= 0 ? Buffer.alloc(0) : SENTINEL_REQUEST),
    halfClose: false,
    methods: answered.map((spec) => spec.method),
    end: end.closes ? 'close' : 'open',
    endId: end.id,
    judge: (index, response) => {
      const spec = answered[index]!;
      if (response.kind !== 'status' || !response.complete) return mismatch('KA-PIPELINE', `a complete response to ${spec.method} ${show(spec.target)}`, describe(response));
      const report = facts.probe ? parseProbeReport(response.body) : null;
      const path = report ? djangoEnviron(spec.method, spec.target, spec.version, [])['PATH_INFO'] : undefined;
      if (report && report.environ['PATH_INFO'] !== path) {
        return mismatch('KA-PIPELINE', `the answer to ${spec.method} ${show(spec.target)}, in order`, `the answer to ${show(report.environ['PATH_INFO'])}`);
      }
      return null;
    },
    missing: (index) => mismatch(index > 0 ? closesAfter(answered[index - 1]!).id : 'KA-PIPELINE', `a response to request ${index + 1}`, 'the connection ended before it'),
  };
}

function sentinelSpec(): RequestSpec {
  return { method: 'GET', target: SENTINEL_PATH, version: 'HTTP/1.1', headers: [], body: '' };
}

/** RFC-RL-ERROR-STATUS: a malformed request line gets a status line (or, at least, no bare body). */
export function rfcRequestLinePlan(wireCase: WireCase): Plan {
  return {
    segments: segmentsOf(caseBytes(wireCase), wireCase.splits),
    halfClose: true,
    methods: ['GET'],
    end: 'any',
    endId: 'RFC-RL-ERROR-STATUS',
    judge: (_index, response) => (response.kind === 'status' ? null : mismatch('RFC-RL-ERROR-STATUS', 'a status line (400, or 505 for a version), or a close', describe(response))),
    missing: () => null,
  };
}

// --- Any target: what comes back, for comparisons ---------------------------------------------------------------------

/** Reads everything a target sends for a case after the client half-closes, judging nothing: for split and differential comparisons. */
export function observePlan(wireCase: WireCase): Plan {
  const requests = Math.max(1, requestsOf(wireCase).length);
  return {
    segments: segmentsOf(caseBytes(wireCase), wireCase.splits),
    halfClose: true,
    // One more than asked for, so an extra response shows.
    methods: Array.from({ length: requests + 1 }, () => 'GET'),
    end: 'any',
    endId: 'KA-PIPELINE',
    judge: () => null,
    missing: () => null,
  };
}

/** The request-derived environ keys, compared across servers (the port, the process environment and the server's name set aside). */
const COMPARED_KEYS = /^(HTTP_|wsgi\.(version|url_scheme|run_once))|^(GATEWAY_INTERFACE|REMOTE_HOST|CONTENT_LENGTH|SCRIPT_NAME|SERVER_PROTOCOL|SERVER_SOFTWARE|REQUEST_METHOD|PATH_INFO|QUERY_STRING|REMOTE_ADDR|CONTENT_TYPE)$/;

export interface Observed {
  label: string;
  value: string;
}

/** What a person would compare between two answers to the same bytes: status or bare body, environ, and the close. */
export function observables(responses: readonly ParsedResponse[], close: string): Observed[] {
  return [...responseObservables(responses, 'response'), { label: 'close', value: close === 'eof' || close === 'reset' ? 'closed' : close }];
}

function responseObservables(responses: readonly ParsedResponse[], prefix: string): Observed[] {
  return responses.flatMap((response, index) => {
    const at = `${prefix} ${index + 1}`;
    const seen: Observed[] = [{ label: `${at} interim`, value: response.interim.map((r) => r.status).join(',') }];
    if (response.kind === 'bare') return [...seen, ...bareObservables(response.body, at)];
    seen.push({ label: `${at} status`, value: `${response.status} ${response.reason}` }, { label: `${at} complete`, value: String(response.complete) });
    const report = parseProbeReport(response.body);
    return [...seen, ...(report ? environObservables(at, report) : [{ label: `${at} body`, value: response.body.toString('latin1') }])];
  });
}

/**
 * A bare (HTTP/0.9) body runs to the close, so it can hold the answers to the requests that followed: the bare part
 * and each response after it are compared on their own (a probe report's process environment, dates set aside).
 */
function bareObservables(body: Buffer, at: string): Observed[] {
  const next = /HTTP\/\d\.\d \d{3} /.exec(body.toString('latin1'));
  const own = next ? body.subarray(0, next.index) : body;
  const report = parseProbeReport(own);
  const after = next ? parseResponses(body.subarray(next.index), [], true).responses : [];
  const bare = report ? [{ label: `${at} bare-body`, value: 'a probe report' }, ...environObservables(at, report)] : [{ label: `${at} bare-body`, value: own.toString('latin1') }];
  return [...bare, ...responseObservables(after, `${at} then response`)];
}

function environObservables(at: string, report: ProbeReport): Observed[] {
  const keys = Object.keys(report.environ).filter((key) => COMPARED_KEYS.test(key));
  return [
    { label: `${at} environ-keys`, value: keys.sort().join(',') },
    ...keys.map((key) => ({ label: `${at} ${key}`, value: JSON.stringify(report.environ[key]) })),
    { label: `${at} body-read`, value: report.body.base64 },
  ];
}

/** The first observable that differs between two answers, as a mismatch named `${prefix}:<what>` (the what without the response number). */
export function firstDifference(prefix: string, a: readonly Observed[], b: readonly Observed[], names: [string, string]): Mismatch | null {
  const byLabel = new Map(b.map((o) => [o.label, o.value]));
  const labels = [...new Set([...a.map((o) => o.label), ...b.map((o) => o.label)])];
  const aByLabel = new Map(a.map((o) => [o.label, o.value]));
  for (const label of labels) {
    const left = aByLabel.get(label);
    const right = byLabel.get(label);
    if (left !== right) {
      const what = label.replace(/^(response \d+ (then response \d+ )?)/, '');
      return mismatch(`${prefix}:${what}`, `${names[0]}: ${label} ${left === undefined ? '(none)' : show(left)}`, `${names[1]}: ${label} ${right === undefined ? '(none)' : show(right)}`);
    }
  }
  return null;
}
