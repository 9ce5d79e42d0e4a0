import type { Application, Environ, ErrorStream, ExcInfo, HeaderList, ResponseBody, StartResponse } from './gateway.ts';
import type { ServerLog } from './server-log.ts';
import { httpDate, pyInt } from './pyfmt.ts';
import { isBrokenPipeError, type SocketReader, type SocketWriter } from './socket-io.ts';

/**
 * The per-request layer: Django's `ServerHandler` over wsgiref's `SimpleHandler`/`BaseHandler`. It builds the
 * WSGI environ, runs the application, checks what `start_response` is given, adds Content-Length and
 * Django's `Connection: close`, writes the response, and turns an application's exception into the 500 page.
 */

/** The request handler as the server handler sees it (Django's `handler.request_handler` back-pointer). */
export interface RequestHandlerLink {
  closeConnection: boolean;
  readonly threaded: boolean;
  logRequest(code: string, size: number): void;
}

/** Python's AssertionError from wsgiref's checks; a distinct class so tests and logs can tell it apart. */
export class WSGIAssertionError extends Error {
  override name = 'AssertionError';
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new WSGIAssertionError(message);
}

/** wsgiref.util.is_hop_by_hop: an application may not set these (the server owns the connection). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers', 'transfer-encoding', 'upgrade']);

/** wsgiref's `os_environ`: the process environment as it was when the module was loaded, under every request's environ. */
export const PROCESS_ENVIRON: Readonly<Record<string, string>> = Object.freeze({ ...process.env } as Record<string, string>);

/** CPython's `software_version` (simple_server): what a response's Server header names when the app sets none. */
export const SERVER_SOFTWARE_HEADER = 'WSGIServer/0.2 CPython/3.11.2';

const ERROR_STATUS = '500 Internal Server Error';
const ERROR_HEADERS: HeaderList = [['Content-Type', 'text/plain']];
const ERROR_BODY = Buffer.from('A server error occurred.  Please contact the administrator.');

const EMPTY = Buffer.alloc(0);

/** The values of HTTPS that make `wsgi.url_scheme` https (wsgiref.util.guess_scheme). */
const HTTPS_ON = new Set(['yes', 'on', '1']);

/** Where `str.encode('iso-8859-1')` would fail: the index of the first character above U+00FF, or -1. */
function firstNonLatin1(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return i;
  return -1;
}

/** Python's UnicodeEncodeError for the character at `position`. */
function latin1EncodeError(position: number): Error {
  return new Error(`'latin-1' codec can't encode character at position ${position}: ordinal not in range(256)`);
}

/** `text` encoded as latin-1 (every character must be one), then `tail`, in one buffer. */
function latin1Then(text: string, tail: Buffer): Buffer {
  const out = Buffer.allocUnsafe(text.length + tail.length);
  out.write(text, 0, 'latin1');
  tail.copy(out, text.length);
  return out;
}

/**
 * Whether header name `name` lower-cases to `lowerName`. The server looks up ASCII names only, and no character but
 * ASCII letters and the Kelvin sign lower-cases to an ASCII letter (each to one), so names of other lengths cannot match.
 */
function isNamed(name: string, lowerName: string): boolean {
  return name.length === lowerName.length && name.toLowerCase() === lowerName;
}

/**
 * `{ ...osEnviron, ...baseEnviron }`, wsgiref's `os_environ.copy()` then `update(base_env)`. Object.assign copies the
 * same keys in the same order and stays fast whatever the objects' shapes (V8 spreads a small unfrozen object first
 * at tens of microseconds a copy); it differs only on a key named `__proto__`, so that case keeps the spread.
 */
function mergedEnviron(osEnviron: Readonly<Record<string, string>>, baseEnviron: Environ): Environ {
  if (Object.hasOwn(osEnviron, '__proto__') || Object.hasOwn(baseEnviron, '__proto__')) return { ...osEnviron, ...baseEnviron };
  return Object.assign({}, osEnviron, baseEnviron);
}

/** wsgiref.headers.Headers: an ordered list with case-insensitive lookups. */
export class Headers {
  constructor(private readonly list: HeaderList) {
    if (!Array.isArray(list)) throw new TypeError('Headers must be a list of name/value tuples');
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  get(name: string): string | undefined {
    const wanted = name.toLowerCase();
    for (const [k, v] of this.list) if (isNamed(k, wanted)) return v;
    return undefined;
  }

  set(name: string, value: string): void {
    const wanted = name.toLowerCase();
    for (let i = this.list.length - 1; i >= 0; i--) if (isNamed(this.list[i]![0], wanted)) this.list.splice(i, 1);
    this.list.push([name, value]);
  }

  setDefault(name: string, value: string): void {
    if (!this.has(name)) this.list.push([name, value]);
  }

  /** `str(headers)`: the field lines and the blank line, the text that `bytes(headers)` encodes. */
  text(): string {
    let text = '';
    for (const [k, v] of this.list) text += `${k}: ${v}\r\n`;
    return text + '\r\n';
  }
}

/** Django's LimitedStream: `wsgi.input` cannot read past CONTENT_LENGTH, and the rest is discarded at the end (KA-UNREAD-BODY). */
export class LimitedStream {
  private buffer: Buffer = EMPTY;

  constructor(
    private readonly stream: SocketReader,
    private remaining: number,
  ) {}

  /** Reads what is left of the body (all of it when `size` is omitted); with a negative limit, to end of stream as Python does. */
  async readLimited(size?: number): Promise<Buffer> {
    const wanted = size === undefined || size > this.remaining ? this.remaining : size;
    if (wanted === 0) return EMPTY;
    const result = await this.stream.read(wanted);
    this.remaining -= result.length;
    return result;
  }

  /**
   * Django's `_read_limited()` at the end of a request, skipped rather than read: the same bytes leave the socket (to
   * end of stream for -1, Python's ValueError below it), but a body of any length is never held whole.
   */
  async discardRest(): Promise<void> {
    if (this.remaining < -1) {
      await this.readLimited();
      return;
    }
    const skipped = await this.stream.skip(this.remaining);
    if (this.remaining > 0) this.remaining -= skipped;
  }

  async read(size?: number): Promise<Buffer> {
    if (size === undefined) {
      const result = Buffer.concat([this.buffer, await this.readLimited()]);
      this.buffer = Buffer.alloc(0);
      return result;
    }
    if (size < this.buffer.length) {
      const result = this.buffer.subarray(0, size);
      this.buffer = this.buffer.subarray(size);
      return result;
    }
    const result = Buffer.concat([this.buffer, await this.readLimited(size - this.buffer.length)]);
    this.buffer = Buffer.alloc(0);
    return result;
  }

  async readline(size?: number): Promise<Buffer> {
    while (!this.buffer.includes(0x0a) && (size === undefined || this.buffer.length < size)) {
      const chunk = size ? await this.readLimited(size - this.buffer.length) : await this.readLimited();
      if (chunk.length === 0) break;
      this.buffer = Buffer.concat([this.buffer, chunk]);
    }
    const lf = this.buffer.indexOf(0x0a);
    let end = lf >= 0 ? lf + 1 : this.buffer.length;
    // BytesIO.readline: only a positive size limits the line.
    if (size !== undefined && size > 0) end = Math.min(end, size);
    const line = this.buffer.subarray(0, end);
    this.buffer = this.buffer.subarray(end);
    return line;
  }
}

/** wsgiref.util.FileWrapper: `wsgi.file_wrapper`, turning a readable object into an iterable of blocks. */
export class FileWrapper implements Iterable<Buffer> {
  readonly close?: () => void;

  constructor(
    private readonly filelike: { read(size: number): Buffer; close?: () => void },
    private readonly blksize = 8192,
  ) {
    if (filelike.close) this.close = () => filelike.close!();
  }

  *[Symbol.iterator](): Iterator<Buffer> {
    for (;;) {
      const data = this.filelike.read(this.blksize);
      if (data.length === 0) return;
      yield data;
    }
  }
}

export class ServerHandler {
  protected environ: Environ = {};
  protected status: string | null = null;
  protected headers: Headers | null = null;
  protected headersSent = false;
  protected bytesSent = 0;
  protected result: ResponseBody | null = null;
  protected readonly stdin: LimitedStream;

  constructor(
    stdin: SocketReader,
    protected readonly stdout: SocketWriter,
    protected readonly stderr: ErrorStream,
    protected readonly log: ServerLog,
    protected readonly baseEnviron: Environ,
    protected readonly requestHandler: RequestHandlerLink,
    protected readonly osEnviron: Readonly<Record<string, string>> = PROCESS_ENVIRON,
  ) {
    // Django: a CONTENT_LENGTH that int() refuses means "no body" for the LimitedStream.
    const contentLength = pyInt(String(baseEnviron['CONTENT_LENGTH'])) ?? 0;
    this.stdin = new LimitedStream(stdin, contentLength);
  }

  async run(application: Application): Promise<void> {
    try {
      this.setupEnviron();
      this.result = await application(this.environ, this.startResponse.bind(this));
      await this.finishResponse();
    } catch (err) {
      // The client went away: nothing to tell it, nothing to log (BaseHandler.run).
      if (isBrokenPipeError(err)) return;
      try {
        await this.handleError(err);
      } catch (secondError) {
        await this.close();
        throw secondError;
      }
    }
  }

  protected setupEnviron(): void {
    const env = mergedEnviron(this.osEnviron, this.baseEnviron);
    env['wsgi.input'] = this.stdin;
    env['wsgi.errors'] = this.stderr;
    env['wsgi.version'] = [1, 0];
    env['wsgi.run_once'] = false;
    env['wsgi.url_scheme'] = HTTPS_ON.has(String(env['HTTPS'])) ? 'https' : 'http';
    // SimpleHandler's defaults, which Django never overrides, not even under --nothreading (ENV-WSGI-VARS).
    env['wsgi.multithread'] = true;
    env['wsgi.multiprocess'] = false;
    env['wsgi.file_wrapper'] = FileWrapper;
    if (!('SERVER_SOFTWARE' in env)) env['SERVER_SOFTWARE'] = SERVER_SOFTWARE_HEADER;
    this.environ = env;
  }

  /** wsgiref's `start_response`, a method bound for the application as Python's bound method is (no closure per request). */
  protected startResponse(status: string, headers: HeaderList, excInfo?: ExcInfo): ReturnType<StartResponse> {
    if (excInfo) {
      if (this.headersSent) throw excInfo;
    } else if (this.headers !== null) {
      throw new WSGIAssertionError('Headers already set!');
    }
    this.status = status;
    this.headers = new Headers(headers);
    // The messages are built only on failure: a passing check runs for every header of every response.
    if (typeof status !== 'string') throw new WSGIAssertionError(`Status must be of type str (got ${String(status)})`);
    assert(status.length >= 4, 'Status must be at least 4 characters');
    assert(/^[0-9²³¹]{3}$/.test(status.slice(0, 3)), 'Status message must begin w/3-digit code');
    assert(status[3] === ' ', 'Status message must have a space after code');
    for (const [name, value] of headers) {
      if (typeof name !== 'string') throw new WSGIAssertionError(`Header name must be of type str (got ${String(name)})`);
      if (typeof value !== 'string') throw new WSGIAssertionError(`Header value must be of type str (got ${String(value)})`);
      if (HOP_BY_HOP.has(name.toLowerCase())) throw new WSGIAssertionError(`Hop-by-hop header, '${name}: ${value}', not allowed`);
    }
    return this.write.bind(this);
  }

  protected async finishResponse(): Promise<void> {
    const result = this.result!;
    try {
      if (Symbol.asyncIterator in result) {
        for await (const data of result as AsyncIterable<Buffer>) await this.write(data);
      } else {
        for (const data of result as Iterable<Buffer>) await this.write(data);
      }
      await this.finishContent();
    } catch (err) {
      await result.close?.();
      throw err;
    }
    await this.close();
  }

  protected async write(data: Buffer): Promise<void> {
    assert(Buffer.isBuffer(data), 'write() argument must be a bytes instance');
    assert(this.status !== null, 'write() before start_response()');
    if (!this.headersSent) {
      this.bytesSent = data.length;
      // One segment for head and first chunk; Python writes them apart, the bytes are the same.
      await this.sendHeaders(data);
    } else {
      this.bytesSent += data.length;
      await this.stdout.write(data);
    }
  }

  protected async finishContent(): Promise<void> {
    if (!this.headersSent) {
      // Only when the application set none, so a HEAD response can keep its own Content-Length.
      this.headers!.setDefault('Content-Length', '0');
      await this.sendHeaders(EMPTY);
    }
  }

  protected cleanupHeaders(): void {
    const headers = this.headers!;
    if (!headers.has('Content-Length') && Array.isArray(this.result) && this.result.length === 1) {
      headers.set('Content-Length', String(this.bytesSent));
    }
    // Django: without a length the client cannot find the end of the body; without threads no second request can be served.
    if (!headers.has('Content-Length') || !this.requestHandler.threaded) headers.set('Connection', 'close');
    if (headers.get('Connection') === 'close') this.requestHandler.closeConnection = true;
  }

  protected clientIsModern(): boolean {
    return String(this.environ['SERVER_PROTOCOL']).toUpperCase() !== 'HTTP/0.9';
  }

  protected async sendHeaders(firstChunk: Buffer): Promise<void> {
    this.cleanupHeaders();
    this.headersSent = true;
    if (!this.clientIsModern()) {
      if (firstChunk.length) await this.stdout.write(firstChunk);
      return;
    }
    const headers = this.headers!;
    let preamble = `HTTP/1.1 ${this.status}\r\n`;
    if (!headers.has('Date')) preamble += `Date: ${httpDate()}\r\n`;
    if (!headers.has('Server')) preamble += `Server: ${SERVER_SOFTWARE_HEADER}\r\n`;
    const head = preamble + headers.text();
    const unencodable = firstNonLatin1(head);
    if (unencodable >= 0) {
      // Only the status line can fail in the preamble, and then Python has sent nothing; when the header block
      // fails, it has already sent the preamble.
      if (unencodable < preamble.length) throw latin1EncodeError(unencodable);
      await this.stdout.write(Buffer.from(preamble, 'latin1'));
      throw latin1EncodeError(unencodable - preamble.length);
    }
    await this.stdout.write(latin1Then(head, firstChunk));
  }

  /** Django's close: drain the unread body first (KA-UNREAD-BODY), then simple_server's access log, then the iterable's close. */
  protected async close(): Promise<void> {
    await this.stdin.discardRest();
    try {
      if (this.status !== null) this.requestHandler.logRequest(this.status.split(' ', 1)[0]!, this.bytesSent);
    } finally {
      const result = this.result;
      this.result = null;
      this.headers = null;
      this.status = null;
      this.bytesSent = 0;
      this.headersSent = false;
      await result?.close?.();
    }
  }

  protected async handleError(err: unknown): Promise<void> {
    this.log.raw(formatTraceback(err));
    if (!this.headersSent) {
      this.startResponse(ERROR_STATUS, ERROR_HEADERS.map(([k, v]) => [k, v]), err ?? new Error('error'));
      this.result = [ERROR_BODY];
      await this.finishResponse();
    }
  }
}

/** What Python's print_exception would write; the stack is Node's, the shape is Python's. */
export function formatTraceback(err: unknown): string {
  const stack = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  return `Traceback (most recent call last):\n${stack}\n`;
}
