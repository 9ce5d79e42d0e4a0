/**
 * What SPEC says a django-profile server does with a byte stream on one connection, written from SPEC and from
 * the CPython 3.11 and Django 3.2 behaviour SPEC cites (and checked against real Django), never from the reference
 * port: the fuzz properties judge bytes on the wire, and their model must stand on its own.
 *
 * `simulate` reads the bytes as Django's WSGIRequestHandler would (readline limits, parse_request, parse_headers and
 * the email feedparser, underscore stripping, the environ, the probe application's reading, the body drain) and says
 * which responses come back, in order, and whether the connection then closes, stays open, or waits for more bytes.
 * Each expectation carries the requirement IDs it rests on, so a mismatch is reported under the right ID.
 */
import { PROBE_CONTRACT } from '../probes/contract.ts';
import { htmlEscape, pyInt, pyLstrip, pyRepr, pyRstrip, pySplit, pyStrip } from './pystr.ts';

/** Django reads a request line with readline(65537); one byte more than 65536 is a 414 (URI-414). */
export const MAX_REQUEST_LINE = 65536;
/** http.client's _MAXLINE and _MAXHEADERS (HDR-LINE-LIMIT, HDR-COUNT-LIMIT); the blank line counts as a header. */
export const MAX_HEADER_LINE = 65536;
export const MAX_HEADERS = 100;
/** WSGIRequestHandler.server_version. */
export const DJANGO_SERVER_SOFTWARE = 'WSGIServer/0.2';
/** wsgiref's error_body, answered when the application raises before start_response (ERR-APP-EXCEPTION). */
export const APP_ERROR_BODY = 'A server error occurred.  Please contact the administrator.';
/** How close to a limit a served request must be for a wrong answer to count against that limit's ID. */
const LIMIT_NEIGHBOURHOOD = 16;
const DEFAULT_VERSION = 'HTTP/0.9';
const TLS_HANDSHAKE = '\x16\x03';

export interface ModelOptions {
  /** Django's default; `--nothreading` closes after every response (KA-SERIAL-CLOSE). */
  threaded: boolean;
  /** The client ends its side after the bytes: reads at the end of input return what is there. */
  eof: boolean;
}

/** What the probe application is asked to do (SPEC "The probe contract"), as it parses X-Probe-Action. */
export interface ProbeActions {
  noLength: boolean;
  read: number | null;
  status: number | null;
  raise: boolean;
  raiseAfterHeaders: boolean;
}

interface StepBase {
  /** The connection closes after this response. */
  closeAfter: boolean;
  /** The requirement the close (or the keep-alive) after this response comes from. */
  closeId: string;
  /**
   * Set when the request before left body bytes for the server to skip (KA-UNREAD-BODY) or chunk bytes to be read as
   * this request (KA-CHUNKED-IGNORED): a wrong answer here most likely comes from that.
   */
  after: string | null;
}

export interface ErrorStep extends StepBase {
  kind: 'error';
  status: number;
  /** send_error's message: the status line's reason, and the page's `Message:`. */
  message: string;
  /** No version was accepted yet: the page alone, no status line, no headers. */
  bare: boolean;
  /** A HEAD request gets the head without the page (ERR-HEAD-NO-BODY). */
  head: boolean;
  id: string;
}

export interface AppStep extends StepBase {
  kind: 'app';
  requestLine: string;
  method: string;
  /** The request-derived environ keys and their values (SERVER_NAME, SERVER_PORT and REMOTE_ADDR are the judge's to fill). */
  environ: Record<string, string>;
  /** The body the probe read. */
  bodyRead: Buffer;
  status: number;
  /** HTTP/0.9: the application's body alone. */
  bare: boolean;
  interim100: boolean;
  /** The application raised before start_response (wsgiref's 500), after its first chunk, or not at all. */
  failure: 'none' | 'before' | 'after';
  actions: ProbeActions;
  /** The response carries Content-Length (else it is framed by the close). */
  hasLength: boolean;
  /** The response carries `Connection: close`. */
  connectionClose: boolean;
  /** IDs a wrong answer to this request counts against, most specific first. */
  ids: string[];
  /** The environ keys the request's underscore headers would have made had they not been stripped (HDR-UNDERSCORE-STRIP). */
  underscoreKeys: string[];
}

export type Step = ErrorStep | AppStep;

export interface ModelRun {
  steps: Step[];
  /** After the last step: the server closed, waits for a request on an open connection, or waits for more bytes of one. */
  end: 'close' | 'open' | 'blocked';
  /** Why it closed where no step says (a blank line where a request was due, the end of input). */
  endId: string;
  /** How many bytes the server read: bytes after these are never read (it closed, or waits for more). */
  consumed: number;
}

/** The server's buffered reader over the bytes sent; `null` from a read means it would wait for more. */
class Input {
  pos = 0;
  constructor(
    private readonly data: Buffer,
    private readonly eof: boolean,
  ) {}

  get exhausted(): boolean {
    return this.pos >= this.data.length;
  }

  readline(limit: number): Buffer | null {
    const lf = this.data.indexOf(0x0a, this.pos);
    const available = this.data.length - this.pos;
    let end: number;
    if (lf >= 0 && lf - this.pos < limit) end = lf + 1;
    else if (available >= limit) end = this.pos + limit;
    else if (this.eof) end = this.data.length;
    else return null;
    return this.take(end);
  }

  /** BufferedReader.read(n): n bytes, fewer only at the end of input; a negative n reads to the end of input. */
  read(n: number): Buffer | null {
    const available = this.data.length - this.pos;
    if (n >= 0 && available >= n) return this.take(this.pos + n);
    return this.eof ? this.take(this.data.length) : null;
  }

  private take(end: number): Buffer {
    const out = this.data.subarray(this.pos, end);
    this.pos = end;
    return out;
  }
}

/** Python's ValueError from BufferedReader.read(n) with n below -1. */
class ReadLengthError extends Error {}

/**
 * Django's LimitedStream over the input: int(CONTENT_LENGTH) bytes at most. A negative Content-Length leaks through
 * as the size of the socket read: -1 reads to the end of input, anything below raises ValueError.
 */
class LimitedStream {
  constructor(
    private readonly input: Input,
    private remaining: number,
  ) {}

  read(size: number | null): Buffer | null {
    const wanted = size === null || size > this.remaining ? this.remaining : size;
    if (wanted === 0) return Buffer.alloc(0);
    if (wanted < -1) throw new ReadLengthError('read length must be non-negative or -1');
    const got = this.input.read(wanted);
    if (got !== null) this.remaining -= got.length;
    return got;
  }
}

/** CPython's email feedparser header section: which lines are fields, split on CR, LF and CRLF alike. */
function parseHeaderFields(text: string): Array<[string, string]> {
  const lines = text.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? [];
  const headerLines: string[] = [];
  for (const line of lines) {
    // headerRE: a unix-from line, a name of printable non-colon ASCII then a colon, or a continuation.
    if (!/^(?:From |[\x21-\x39\x3b-\x7e]*:|[\t ])/.test(line)) break;
    headerLines.push(line);
  }
  const fields: Array<[string, string]> = [];
  let current: string[] | null = null;
  const flush = (): void => {
    if (current) {
      const first = current[0]!;
      const colon = first.indexOf(':');
      const value = pyLstrip(first.slice(colon + 1), ' \t') + current.slice(1).join('');
      fields.push([first.slice(0, colon), pyRstrip(value, '\r\n')]);
    }
    current = null;
  };
  for (const [lineno, line] of headerLines.entries()) {
    if (line[0] === ' ' || line[0] === '\t') {
      current?.push(line);
      continue;
    }
    flush();
    if (line.startsWith('From ')) {
      if (lineno === headerLines.length - 1 && lineno !== 0) break;
      continue;
    }
    if (line.indexOf(':') === 0) continue;
    current = [line];
  }
  flush();
  return fields;
}

function firstField(fields: ReadonlyArray<[string, string]>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return fields.find(([n]) => n.toLowerCase() === wanted)?.[1];
}

/** `urllib.parse.unquote(path, 'iso-8859-1')`: each valid %XX becomes that byte, read as latin-1. */
function unquoteLatin1(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Where a header of this name lands in the environ (were it not stripped). */
export function environKeyOf(name: string): string {
  const key = name.replaceAll('-', '_').toUpperCase();
  return key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH' ? key : 'HTTP_' + key;
}

/** The keys simple_server's get_environ has set before the header loop: a header spelling one of them is skipped. */
const PRESET_KEYS = [
  'SERVER_NAME',
  'GATEWAY_INTERFACE',
  'SERVER_PORT',
  'REMOTE_HOST',
  'CONTENT_LENGTH',
  'SCRIPT_NAME',
  'SERVER_PROTOCOL',
  'SERVER_SOFTWARE',
  'REQUEST_METHOD',
  'PATH_INFO',
  'QUERY_STRING',
  'REMOTE_ADDR',
  'CONTENT_TYPE',
];

/** Django's get_environ (underscore headers stripped) over simple_server's; the keys the server knows alone are left out. */
export function djangoEnviron(method: string, path: string, version: string, fields: ReadonlyArray<[string, string]>): Record<string, string> {
  const kept = fields.filter(([name]) => !name.includes('_'));
  const question = path.indexOf('?');
  const env: Record<string, string> = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    REMOTE_HOST: '',
    SCRIPT_NAME: '',
    SERVER_PROTOCOL: version,
    SERVER_SOFTWARE: DJANGO_SERVER_SOFTWARE,
    REQUEST_METHOD: method,
    PATH_INFO: unquoteLatin1(question >= 0 ? path.slice(0, question) : path),
    QUERY_STRING: question >= 0 ? path.slice(question + 1) : '',
    CONTENT_TYPE: firstField(kept, 'content-type') ?? 'text/plain',
    CONTENT_LENGTH: firstField(kept, 'content-length') || '',
  };
  const present = new Set([...PRESET_KEYS]);
  for (const [name, value] of kept) {
    const key = name.replaceAll('-', '_').toUpperCase();
    if (present.has(key)) continue;
    const httpKey = 'HTTP_' + key;
    const trimmed = pyStrip(value);
    env[httpKey] = present.has(httpKey) ? `${env[httpKey]},${trimmed}` : trimmed;
    present.add(httpKey);
  }
  return env;
}

/** The probe's reading of X-Probe-Action (split on commas, JavaScript-trimmed words; the last read: and status: win). */
export function probeActions(value: string | undefined): ProbeActions {
  const actions: ProbeActions = { noLength: false, read: null, status: null, raise: false, raiseAfterHeaders: false };
  for (const word of (value ?? '').split(',').map((w) => w.trim())) {
    if (word === 'no-length') actions.noLength = true;
    else if (word === 'raise') actions.raise = true;
    else if (word === 'raise-after-headers') actions.raiseAfterHeaders = true;
    else if (/^read:[0-9]+$/.test(word)) actions.read = Number(word.slice(5));
    else if (/^status:[0-9]{3}$/.test(word)) actions.status = Number(word.slice(7));
  }
  return actions;
}

/** The first chunk of a probe report, all a `raise-after-headers` response carries: everything before `"environ":`. */
export function reportOpening(bodyRead: Buffer): Buffer {
  const body = JSON.stringify({ base64: bodyRead.toString('base64'), length: bodyRead.length });
  return Buffer.from(`{"body":${body},"contract":${JSON.stringify(PROBE_CONTRACT)},`, 'latin1');
}

/** The `<p>` lines of http.server's error page that name the error, as the page's UTF-8 bytes hold them. */
export function errorPageLines(status: number, message: string): Buffer[] {
  return [`<p>Error code: ${status}</p>`, `<p>Message: ${htmlEscape(message)}.</p>`].map((line) => Buffer.from(line, 'utf8'));
}

/** The version rule of parse_request: `HTTP/` then exactly two dot-separated parts int() accepts. */
function versionNumber(version: string): [number, number] | null {
  if (!version.startsWith('HTTP/')) return null;
  const parts = version.slice(5).split('.');
  if (parts.length !== 2) return null;
  const major = pyInt(parts[0]!);
  const minor = pyInt(parts[1]!);
  return major === null || minor === null ? null : [major, minor];
}

function atLeast([major, minor]: [number, number], wantMajor: number, wantMinor: number): boolean {
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

type LineOutcome =
  | { kind: 'nothing' }
  | { kind: 'error'; status: number; message: string; bare: boolean; id: string }
  | { kind: 'request'; method: string; path: string; version: string; closeConnection: boolean };

/** CPython 3.11's parse_request on the request line alone. */
function parseRequestLine(raw: Buffer): LineOutcome {
  const line = pyRstrip(raw.toString('latin1'), '\r\n');
  const tls = line.startsWith(TLS_HANDSHAKE);
  const words = pySplit(line);
  if (words.length === 0) return { kind: 'nothing' };
  let version = DEFAULT_VERSION;
  let closeConnection = true;
  if (words.length >= 3) {
    const candidate = words.at(-1)!;
    const number = versionNumber(candidate);
    if (!number) {
      return { kind: 'error', status: 400, message: `Bad request version (${pyRepr(candidate)})`, bare: true, id: tls ? 'TLS-CLIENTHELLO-400' : 'RL-VERSION-SYNTAX' };
    }
    if (atLeast(number, 1, 1)) closeConnection = false;
    if (atLeast(number, 2, 0)) {
      return { kind: 'error', status: 505, message: `Invalid HTTP version (${candidate.slice(5)})`, bare: true, id: 'RL-VERSION-2' };
    }
    version = candidate;
  }
  if (words.length < 2 || words.length > 3) {
    const id = tls ? 'TLS-CLIENTHELLO-400' : 'RL-WORD-COUNT';
    return { kind: 'error', status: 400, message: `Bad request syntax (${pyRepr(line)})`, bare: version === DEFAULT_VERSION, id };
  }
  const [method, target] = words as [string, string];
  if (words.length === 2) {
    closeConnection = true;
    if (method !== 'GET') {
      return { kind: 'error', status: 400, message: `Bad HTTP/0.9 request type (${pyRepr(method)})`, bare: true, id: tls ? 'TLS-CLIENTHELLO-400' : 'RL-HTTP09-METHOD' };
    }
  }
  const path = target.startsWith('//') ? '/' + pyLstrip(target, '/') : target;
  return { kind: 'request', method, path, version, closeConnection };
}

const isBlankLine = (line: Buffer): boolean => line.length === 0 || (line.length === 1 && line[0] === 0x0a) || (line.length === 2 && line[0] === 0x0d && line[1] === 0x0a);

/** Every response a django-profile server sends for `data`, and what it does after the last. */
export function simulate(data: Buffer, options: ModelOptions): ModelRun {
  const input = new Input(data, options.eof);
  const steps: Step[] = [];
  let after: string | null = null;
  const blocked = (): ModelRun => ({ steps, end: 'blocked', endId: 'KA-PIPELINE', consumed: data.length });
  const closed = (endId: string): ModelRun => ({ steps, end: 'close', endId, consumed: input.pos });
  const error = (status: number, message: string, bare: boolean, head: boolean, id: string): ModelRun => {
    steps.push({ kind: 'error', status, message, bare, head, id, closeAfter: true, closeId: 'KA-ERROR-CLOSE', after });
    return closed('KA-ERROR-CLOSE');
  };

  for (;;) {
    // Every byte read at a request boundary: the server waits for the next request on an open connection.
    if (input.exhausted && !options.eof) return { steps, end: 'open', endId: steps.at(-1)?.closeId ?? 'KA-HTTP11-PERSIST', consumed: data.length };
    const rawLine = input.readline(MAX_REQUEST_LINE + 1);
    if (rawLine === null) return blocked();
    if (rawLine.length > MAX_REQUEST_LINE) return error(414, 'Request-URI Too Long', false, false, 'URI-414');
    const line = parseRequestLine(rawLine);
    if (line.kind === 'nothing') return closed(rawLine.length > 0 ? 'KA-EMPTY-LINE' : 'KA-PIPELINE');
    if (line.kind === 'error') return error(line.status, line.message, line.bare, false, line.id);

    const bare = line.version === DEFAULT_VERSION;
    const head = line.method === 'HEAD';
    const headLines: Buffer[] = [];
    let longestHeaderLine = 0;
    for (;;) {
      const headerLine = input.readline(MAX_HEADER_LINE + 1);
      if (headerLine === null) return blocked();
      if (headerLine.length > MAX_HEADER_LINE) return error(431, 'Line too long', bare, head, 'HDR-LINE-LIMIT');
      headLines.push(headerLine);
      longestHeaderLine = Math.max(longestHeaderLine, headerLine.length);
      if (headLines.length > MAX_HEADERS) return error(431, 'Too many headers', bare, head, 'HDR-COUNT-LIMIT');
      if (isBlankLine(headerLine)) break;
    }
    const fields = parseHeaderFields(Buffer.concat(headLines).toString('latin1'));
    let closeConnection = line.closeConnection;
    const connection = (firstField(fields, 'Connection') ?? '').toLowerCase();
    let keepAliveId = closeConnection ? (bare ? 'RL-HTTP09' : 'KA-HTTP10-CLOSE') : 'KA-HTTP11-PERSIST';
    if (connection === 'close') {
      closeConnection = true;
      keepAliveId = 'KA-CONNECTION-CLOSE';
    } else if (connection === 'keep-alive') {
      closeConnection = false;
      keepAliveId = line.version === 'HTTP/1.0' ? 'KA-HTTP10-KEEPALIVE' : 'KA-HTTP11-PERSIST';
    }
    // CPython compares the version strings here, not numbers.
    const interim100 = (firstField(fields, 'Expect') ?? '').toLowerCase() === '100-continue' && line.version >= 'HTTP/1.1';

    const environ = djangoEnviron(line.method, line.path, line.version, fields);
    const actions = probeActions(environ['HTTP_X_PROBE_ACTION']);
    const stream = new LimitedStream(input, pyInt(environ['CONTENT_LENGTH']!) ?? 0);
    let bodyRead: Buffer | null = Buffer.alloc(0);
    let readRaised = false;
    try {
      if (actions.read !== null) bodyRead = stream.read(actions.read);
      else if (/^[0-9]+$/.test(environ['CONTENT_LENGTH']!)) bodyRead = stream.read(Number(environ['CONTENT_LENGTH']));
    } catch (err) {
      if (!(err instanceof ReadLengthError)) throw err;
      readRaised = true;
    }
    if (bodyRead === null) return blocked();

    // An application that raises before start_response gets wsgiref's 500; one that raises after its headers cuts its response short.
    const failure = applicationFailure(actions, readRaised);
    const hasLength = failure === 'before' || !(actions.noLength || failure === 'after');
    const connectionClose = !hasLength || !options.threaded;
    let closeAfter = closeConnection || connectionClose;
    let closeId = failure === 'after' ? 'ERR-APP-EXCEPTION-LATE' : !hasLength ? 'KA-NO-LENGTH-CLOSE' : !options.threaded ? 'KA-SERIAL-CLOSE' : keepAliveId;
    // wsgiref skips the close (and with it the drain of the body) when the application fails after its headers.
    let skipped: Buffer | null = Buffer.alloc(0);
    if (failure !== 'after') {
      try {
        skipped = stream.read(null);
      } catch (err) {
        if (!(err instanceof ReadLengthError)) throw err;
        // The drain fails too: inside wsgiref's error handling that ends the connection; after a normal response it is only logged.
        if (failure === 'before') {
          closeAfter = true;
          closeId = 'ERR-APP-EXCEPTION';
        }
      }
    }
    steps.push({
      kind: 'app',
      requestLine: pyRstrip(rawLine.toString('latin1'), '\r\n'),
      method: line.method,
      environ,
      bodyRead,
      status: failure === 'before' ? 500 : (actions.status ?? 200),
      bare,
      interim100,
      failure,
      actions,
      hasLength,
      connectionClose,
      closeAfter,
      closeId,
      ids: limitIds(rawLine.length, longestHeaderLine, headLines.length, failure),
      underscoreKeys: fields.filter(([name]) => name.includes('_')).map(([name]) => environKeyOf(name)),
      after,
    });
    if (skipped === null) return blocked();
    if (closeAfter) return closed(closeId);
    const chunked = fields.some(([name, value]) => name.toLowerCase() === 'transfer-encoding' && value.toLowerCase().includes('chunked'));
    after = chunked ? 'KA-CHUNKED-IGNORED' : skipped.length > 0 ? 'KA-UNREAD-BODY' : null;
  }
}

function applicationFailure(actions: ProbeActions, readRaised: boolean): AppStep['failure'] {
  if (actions.raise || readRaised) return 'before';
  return actions.raiseAfterHeaders ? 'after' : 'none';
}

/** The IDs a wrong answer to a served request counts against: a limit it came close to, else what it asked for. */
function limitIds(requestLine: number, longestHeaderLine: number, headerLines: number, failure: AppStep['failure']): string[] {
  const ids: string[] = [];
  if (requestLine > MAX_REQUEST_LINE - LIMIT_NEIGHBOURHOOD) ids.push('URI-LIMIT-EXACT');
  if (longestHeaderLine > MAX_HEADER_LINE - LIMIT_NEIGHBOURHOOD) ids.push('HDR-LINE-LIMIT');
  if (headerLines > MAX_HEADERS - LIMIT_NEIGHBOURHOOD) ids.push('HDR-COUNT-LIMIT');
  if (failure === 'before') ids.push('ERR-APP-EXCEPTION');
  if (failure === 'after') ids.push('ERR-APP-EXCEPTION-LATE');
  ids.push('KA-PIPELINE');
  return ids;
}
