import type { Socket } from 'node:net';
import type { Application, Environ, ErrorStream } from './gateway.ts';
import { HTTP_STATUS } from './http-status.ts';
import { HTTP_CLIENT_LIMITS, HTTPMessage, LineTooLong, TooManyHeaders, parseHeaderBlock, readHeaderBlock, type HeaderLimits } from './message.ts';
import { htmlEscape, httpDate, pyInt, pyLstrip, pyRepr, pyRstrip, pySplit, pyStrip } from './pyfmt.ts';
import { ServerHandler, type RequestHandlerLink } from './server-handler.ts';
import type { ServerLog } from './server-log.ts';
import { PendingSocketError, SocketReader, SocketWriter } from './socket-io.ts';

/**
 * The per-connection layer: Django's `WSGIRequestHandler` over CPython 3.11's `BaseHTTPRequestHandler`. It
 * runs the keep-alive loop, reads and parses the request line and head, strips headers whose names hold an
 * underscore, builds the CGI part of the environ, writes the errors it generates itself, and logs.
 */

/** What every connection shares with the server that accepted it. */
export interface ServerContext {
  readonly baseEnviron: Readonly<Environ>;
  readonly threaded: boolean;
  readonly application: Application;
  readonly log: ServerLog;
  readonly errors: ErrorStream;
  /** As Django's `handle_one_request` names its ServerHandler: a subclass may change one behaviour of the per-request layer. */
  readonly serverHandlerClass: typeof ServerHandler;
  /** What every environ starts from (wsgiref's `os_environ`). */
  readonly osEnviron: Readonly<Record<string, string>>;
}

/** BaseHTTPRequestHandler.version_string(): server-generated errors name Python, not CPython (ERR-FORMAT). */
const ERROR_SERVER_HEADER = 'WSGIServer/0.2 Python/3.11.2';
/** WSGIRequestHandler.server_version: the environ's SERVER_SOFTWARE (ENV-SERVER-SOFTWARE). */
const SERVER_VERSION = 'WSGIServer/0.2';
/** BaseHTTPRequestHandler.default_request_version: until a version is accepted, errors go out bare (no status line). */
const DEFAULT_REQUEST_VERSION = 'HTTP/0.9';

const ERROR_PAGE = (code: number, message: string, explain: string) =>
  `<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: ${code}</p>
        <p>Message: ${htmlEscape(message)}.</p>
        <p>Error code explanation: ${code} - ${htmlEscape(explain)}.</p>
    </body>
</html>
`;

/** A TLS handshake record (0x16) of SSL 3.0/TLS 1.x (0x03) read as a request line (TLS-CLIENTHELLO-400, TLS-LOG). */
const TLS_HANDSHAKE_PREFIX = '\x16\x03';
const HTTPS_MESSAGE = "You're accessing the development server over HTTPS, but it only supports HTTP.\n";

/** `urllib.parse.unquote(path, 'iso-8859-1')`: valid %XX escapes become bytes, read back as latin-1 (ENV-PATH-INFO). */
function unquoteLatin1(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** parse_request's version rules: `HTTP/` then exactly two dot-separated parts that Python's int() accepts. */
function parseVersionNumber(version: string): [number, number] | null {
  if (!version.startsWith('HTTP/')) return null;
  const parts = version.slice(5).split('.');
  if (parts.length !== 2) return null;
  const major = pyInt(parts[0]!);
  const minor = pyInt(parts[1]!);
  return major === null || minor === null ? null : [major, minor];
}

function versionAtLeast([major, minor]: [number, number], atLeastMajor: number, atLeastMinor: number): boolean {
  return major > atLeastMajor || (major === atLeastMajor && minor >= atLeastMinor);
}

export class WSGIRequestHandler implements RequestHandlerLink {
  closeConnection = true;
  readonly threaded: boolean;
  protected readonly rfile: SocketReader;
  protected readonly wfile: SocketWriter;
  protected requestline = '';
  protected command: string | null = null;
  protected path = '';
  protected requestVersion = DEFAULT_REQUEST_VERSION;
  protected headers = new HTTPMessage([]);
  private headersBuffer: string[] = [];
  /** Django reads at most this many bytes of request line, CRLF included; one more is a 414 (URI-414, URI-LIMIT-EXACT). */
  protected maxRequestLine = 65536;
  protected headerLimits: HeaderLimits = HTTP_CLIENT_LIMITS;

  constructor(
    protected readonly socket: Socket,
    protected readonly server: ServerContext,
    protected readonly clientAddress: string,
  ) {
    this.threaded = server.threaded;
    const errors = new PendingSocketError(socket);
    this.rfile = new SocketReader(socket, errors);
    this.wfile = new SocketWriter(socket, errors);
  }

  /** Django's `handle`: serve requests until one closes the connection, then shut down our sending side (KA-HALF-CLOSE). */
  async handle(): Promise<void> {
    this.closeConnection = true;
    await this.handleOneRequest();
    while (!this.closeConnection) await this.handleOneRequest();
    this.socket.end();
  }

  protected async handleOneRequest(): Promise<void> {
    const rawRequestline = this.rfile.readlineBuffered(this.maxRequestLine + 1) ?? (await this.rfile.readline(this.maxRequestLine + 1));
    if (rawRequestline.length > this.maxRequestLine) {
      this.requestline = '';
      this.requestVersion = '';
      this.command = '';
      await this.sendError(414);
      return;
    }
    if (!(await this.parseRequest(rawRequestline))) return;
    const handler = new this.server.serverHandlerClass(this.rfile, this.wfile, this.server.errors, this.server.log, this.getEnviron(), this, this.server.osEnviron);
    await handler.run(this.server.application);
  }

  /** CPython 3.11's parse_request, word for word; false once it has answered with an error. */
  protected async parseRequest(rawRequestline: Buffer): Promise<boolean> {
    this.command = null;
    this.requestVersion = DEFAULT_REQUEST_VERSION;
    this.closeConnection = true;
    const requestline = pyRstrip(rawRequestline.toString('latin1'), '\r\n');
    this.requestline = requestline;
    const words = pySplit(requestline);
    // A blank line (or end of stream) where a request is due: no answer, the connection ends (KA-EMPTY-LINE).
    if (words.length === 0) return false;

    if (words.length >= 3) {
      const version = words[words.length - 1]!;
      const versionNumber = parseVersionNumber(version);
      if (!versionNumber) {
        await this.sendError(400, `Bad request version (${pyRepr(version)})`);
        return false;
      }
      if (versionAtLeast(versionNumber, 1, 1)) this.closeConnection = false;
      if (versionAtLeast(versionNumber, 2, 0)) {
        await this.sendError(505, `Invalid HTTP version (${version.slice(5)})`);
        return false;
      }
      this.requestVersion = version;
    }

    if (words.length < 2 || words.length > 3) {
      await this.sendError(400, `Bad request syntax (${pyRepr(requestline)})`);
      return false;
    }
    const [command, path] = words as [string, string];
    if (words.length === 2) {
      this.closeConnection = true;
      if (command !== 'GET') {
        await this.sendError(400, `Bad HTTP/0.9 request type (${pyRepr(command)})`);
        return false;
      }
    }
    this.command = command;
    // gh-87389: a path starting with // would read as a scheme-relative URL in a redirect.
    this.path = path.startsWith('//') ? '/' + pyLstrip(path, '/') : path;

    try {
      this.headers = parseHeaderBlock(await readHeaderBlock(this.rfile, this.headerLimits));
    } catch (err) {
      if (err instanceof LineTooLong) {
        await this.sendError(431, 'Line too long', err.message);
        return false;
      }
      if (err instanceof TooManyHeaders) {
        await this.sendError(431, 'Too many headers', err.message);
        return false;
      }
      throw err;
    }

    const connection = (this.headers.get('Connection') ?? '').toLowerCase();
    if (connection === 'close') this.closeConnection = true;
    else if (connection === 'keep-alive') this.closeConnection = false;

    // CPython compares version strings here, not numbers: "HTTP/01.1" gets no 100 Continue.
    const expect = this.headers.get('Expect') ?? '';
    if (expect.toLowerCase() === '100-continue' && this.requestVersion >= 'HTTP/1.1') {
      this.sendResponseOnly(100);
      await this.endHeaders();
    }
    return true;
  }

  /** Django's security fix: `X_Foo` and `X-Foo` would both become HTTP_X_FOO (HDR-UNDERSCORE-STRIP). */
  protected stripUnderscoreHeaders(): void {
    for (const name of this.headers.names()) if (name.includes('_')) this.headers.delete(name);
  }

  /** Django's get_environ over simple_server's. */
  protected getEnviron(): Environ {
    this.stripUnderscoreHeaders();
    // base_environ.copy(); Object.assign, as V8 copies a frozen object by spreading it several times slower.
    const env: Environ = Object.assign({}, this.server.baseEnviron);
    env['SERVER_PROTOCOL'] = this.requestVersion;
    env['SERVER_SOFTWARE'] = SERVER_VERSION;
    env['REQUEST_METHOD'] = this.command;
    const question = this.path.indexOf('?');
    const path = question >= 0 ? this.path.slice(0, question) : this.path;
    env['PATH_INFO'] = unquoteLatin1(path);
    env['QUERY_STRING'] = question >= 0 ? this.path.slice(question + 1) : '';
    env['REMOTE_ADDR'] = this.clientAddress;
    env['CONTENT_TYPE'] = this.headers.get('content-type') ?? 'text/plain';
    const length = this.headers.get('content-length');
    if (length) env['CONTENT_LENGTH'] = length;
    for (const [name, value] of this.headers.items()) {
      const key = name.replaceAll('-', '_').toUpperCase();
      // Skips CONTENT_TYPE/CONTENT_LENGTH, and any header whose name spells a key already set (`Server-Port`).
      if (key in env) continue;
      const httpKey = 'HTTP_' + key;
      const trimmed = pyStrip(value);
      env[httpKey] = httpKey in env ? `${env[httpKey] as string},${trimmed}` : trimmed;
    }
    return env;
  }

  /** CPython's send_error. The status line and headers are only written once a version was accepted. */
  protected async sendError(code: number, message?: string, explain?: string): Promise<void> {
    const status = HTTP_STATUS.get(code);
    message ??= status?.phrase ?? '???';
    explain ??= status?.description ?? '???';
    this.logError(code, message);
    this.sendResponse(code, message);
    this.sendHeader('Connection', 'close');
    let body: Buffer | null = null;
    if (code >= 200 && code !== 204 && code !== 205 && code !== 304) {
      body = Buffer.from(ERROR_PAGE(code, message, explain), 'utf8');
      this.sendHeader('Content-Type', 'text/html;charset=utf-8');
      this.sendHeader('Content-Length', String(body.length));
    }
    const head = this.takeHeaders();
    const withBody = this.command !== 'HEAD' && body !== null ? body : Buffer.alloc(0);
    if (head.length + withBody.length > 0) await this.wfile.write(Buffer.concat([head, withBody]));
  }

  protected sendResponse(code: number, message: string): void {
    this.logRequest(String(code), '-');
    this.sendResponseOnly(code, message);
    this.sendHeader('Server', ERROR_SERVER_HEADER);
    this.sendHeader('Date', httpDate());
  }

  protected sendResponseOnly(code: number, message?: string): void {
    if (this.requestVersion !== DEFAULT_REQUEST_VERSION) {
      message ??= HTTP_STATUS.get(code)?.phrase ?? '';
      this.headersBuffer.push(`HTTP/1.1 ${code} ${message}\r\n`);
    }
  }

  protected sendHeader(keyword: string, value: string): void {
    if (this.requestVersion !== DEFAULT_REQUEST_VERSION) this.headersBuffer.push(`${keyword}: ${value}\r\n`);
    if (keyword.toLowerCase() === 'connection') {
      if (value.toLowerCase() === 'close') this.closeConnection = true;
      else if (value.toLowerCase() === 'keep-alive') this.closeConnection = false;
    }
  }

  protected takeHeaders(): Buffer {
    if (this.requestVersion !== DEFAULT_REQUEST_VERSION) this.headersBuffer.push('\r\n');
    const head = Buffer.from(this.headersBuffer.join(''), 'latin1');
    this.headersBuffer = [];
    return head;
  }

  protected async endHeaders(): Promise<void> {
    const head = this.takeHeaders();
    if (head.length > 0) await this.wfile.write(head);
  }

  logRequest(code: string, size: number | string): void {
    this.logMessage(`"${this.requestline}" ${code} ${size}`, this.requestline, code);
  }

  protected logError(code: number, message: string): void {
    this.logMessage(`code ${code}, message ${message}`, String(code), message);
  }

  /** Django's log_message: a 4xx for a request line that starts a TLS handshake logs the HTTPS hint instead (TLS-LOG); levels by status (LOG-LEVELS). */
  protected logMessage(text: string, firstArg: string, secondArg: string): void {
    const log = this.server.log;
    if (secondArg[0] === '4' && firstArg.startsWith(TLS_HANDSHAKE_PREFIX)) {
      log.error(HTTPS_MESSAGE);
      return;
    }
    if (/^\d{3}$/.test(secondArg)) {
      const status = Number(secondArg);
      if (status >= 500) log.error(text);
      else if (status >= 400) log.warning(text);
      else log.info(text);
    } else {
      log.info(text);
    }
  }
}
