/**
 * For every catalogue ID, a server that behaves differently on purpose, built by overriding one thing in the
 * reference's layers (Python-style: request handler, server handler) or, where that is the simplest honest way, a
 * tiny server of its own.
 *
 * `breaks`: the reference passes the ID and the variant must fail it. `fixes`: the reference fails the ID (Django's
 * behaviour parts from the RFC there) and the variant, which does what the RFC asks, must pass it. Either way the
 * check is shown to tell the two behaviours apart; a check that cannot fail is a defect.
 */
import type { Socket } from 'node:net';
import type { ServerMode } from '../../conformance/catalogue/types.ts';
import type { Environ, InputStream } from '../../reference/gateway.ts';
import { WSGIRequestHandler } from '../../reference/request-handler.ts';
import { ServerHandler } from '../../reference/server-handler.ts';
import type { LogFormat } from '../../reference/server-log.ts';
import type { SocketReader } from '../../reference/socket-io.ts';
import type { ReferenceVariant } from './catalogue-targets.ts';

export interface Mutant {
  id: string;
  role: 'breaks' | 'fixes';
  /** What the variant does differently, in words. */
  change: string;
  mode: ServerMode;
  logFormat?: LogFormat;
  variant: ReferenceVariant | { tiny: (socket: Socket) => void };
}

// --- Request-handler variants ---------------------------------------------------------------------------------

/** get_environ, then `edit`. */
function editEnviron(edit: (env: Environ) => void): typeof WSGIRequestHandler {
  return class extends WSGIRequestHandler {
    protected override getEnviron(): Environ {
      const env = super.getEnviron();
      edit(env);
      return env;
    }
  };
}

/** parse_request on the request line as `rewrite` turns it. */
function rewriteRequestLine(rewrite: (line: string) => string): typeof WSGIRequestHandler {
  return class extends WSGIRequestHandler {
    protected override parseRequest(rawRequestline: Buffer): Promise<boolean> {
      return super.parseRequest(Buffer.from(rewrite(rawRequestline.toString('latin1')), 'latin1'));
    }
  };
}

/** parse_request, then `after` may change whether the connection is kept. */
function afterParse(after: (handler: { version: string; connection: string; keepAlive(keep: boolean): void }) => void): typeof WSGIRequestHandler {
  return class extends WSGIRequestHandler {
    protected override async parseRequest(rawRequestline: Buffer): Promise<boolean> {
      const parsed = await super.parseRequest(rawRequestline);
      if (parsed) {
        after({
          version: this.requestVersion,
          connection: (this.headers.get('Connection') ?? '').toLowerCase(),
          keepAlive: (keep) => (this.closeConnection = !keep),
        });
      }
      return parsed;
    }
  };
}

/** RFC 9112 §2.2: blank lines before a request line are skipped. */
class SkipsBlankLines extends WSGIRequestHandler {
  protected override async parseRequest(rawRequestline: Buffer): Promise<boolean> {
    let line = rawRequestline;
    while (line.length > 0 && /^\r?\n$/.test(line.toString('latin1'))) line = await this.rfile.readline(this.maxRequestLine + 1);
    return super.parseRequest(line);
  }
}

/** Errors get a status line even before a version was accepted (RFC 9112 §3). */
class StatusLineErrors extends WSGIRequestHandler {
  protected override sendError(code: number, message?: string, explain?: string): Promise<void> {
    if (this.requestVersion === 'HTTP/0.9') this.requestVersion = 'HTTP/1.0';
    return super.sendError(code, message, explain);
  }
}

class NoContinue extends WSGIRequestHandler {
  private swallowing = false;
  protected override sendResponseOnly(code: number, message?: string): void {
    if (code === 100) this.swallowing = true;
    else super.sendResponseOnly(code, message);
  }
  protected override async endHeaders(): Promise<void> {
    if (!this.swallowing) return super.endHeaders();
    this.swallowing = false;
    this.takeHeaders();
  }
}

/**
 * Ends every connection with RST, a moment after its last response: Node's client reports a RST that lands right
 * behind data as a plain end of stream, so the reset waits until the response has surely been read.
 */
class ResetsAtEnd extends WSGIRequestHandler {
  override async handle(): Promise<void> {
    const socket = this.socket;
    socket.end = (() => {
      setTimeout(() => socket.resetAndDestroy(), RESET_DELAY_MS);
      return socket;
    }) as Socket['end'];
    await super.handle();
  }
}
const RESET_DELAY_MS = 50;

// --- Server-handler variants ----------------------------------------------------------------------------------

/** wsgi.input is the connection itself, not bounded by Content-Length (as wsgiref's simple_server does). */
class UnboundedInput extends ServerHandler {
  private readonly connection: SocketReader;
  constructor(...args: ConstructorParameters<typeof ServerHandler>) {
    super(...args);
    this.connection = args[0];
  }
  protected override setupEnviron(): void {
    super.setupEnviron();
    const connection = this.connection;
    const input: InputStream = {
      read: (size) => connection.read(size ?? -1),
      readline: (size) => connection.readline(size ?? Number.MAX_SAFE_INTEGER),
    };
    this.environ['wsgi.input'] = input;
  }
}

/**
 * The server's own bound on the body is 0 (the environ still says the real Content-Length), so the end of a request
 * discards nothing and the body the application left unread stays on the connection.
 */
class KeepsUnreadBody extends ServerHandler {
  private readonly declaredLength: unknown;
  constructor(...args: ConstructorParameters<typeof ServerHandler>) {
    const [stdin, stdout, stderr, log, baseEnviron, ...rest] = args;
    super(stdin, stdout, stderr, log, { ...baseEnviron, CONTENT_LENGTH: '0' }, ...rest);
    this.declaredLength = baseEnviron['CONTENT_LENGTH'];
  }
  protected override setupEnviron(): void {
    super.setupEnviron();
    this.environ['CONTENT_LENGTH'] = this.declaredLength;
  }
}

/** Django's cleanup_headers with one of its two `Connection: close` rules left out. */
function connectionCloseOnlyWhen(rule: 'no-length' | 'serial'): typeof ServerHandler {
  return class extends ServerHandler {
    protected override cleanupHeaders(): void {
      const headers = this.headers!;
      const closes = rule === 'no-length' ? !headers.has('Content-Length') : !this.requestHandler.threaded;
      if (closes) headers.set('Connection', 'close');
      if (headers.get('Connection') === 'close') this.requestHandler.closeConnection = true;
    }
  };
}

// --- The table ---------------------------------------------------------------------------------------------------

const T = 'threaded';
const S = 'serial';
const HTTP_VERSION = /^HTTP\/\d+\.\d+$/;

export const MUTANTS: readonly Mutant[] = [
  { id: 'ENV-GATEWAY-INTERFACE', role: 'breaks', mode: T, change: 'GATEWAY_INTERFACE CGI/1.0', variant: { requestHandlerClass: editEnviron((env) => (env['GATEWAY_INTERFACE'] = 'CGI/1.0')) } },
  { id: 'ENV-SERVER-NAME', role: 'breaks', mode: T, change: 'SERVER_NAME empty', variant: { requestHandlerClass: editEnviron((env) => (env['SERVER_NAME'] = '')) } },
  {
    id: 'ENV-SERVER-PORT',
    role: 'breaks',
    mode: T,
    change: "SERVER_PORT taken from the Host header's port",
    variant: { requestHandlerClass: editEnviron((env) => (env['SERVER_PORT'] = String(env['HTTP_HOST']).split(':')[1] ?? '80')) },
  },
  { id: 'ENV-SCRIPT-NAME', role: 'breaks', mode: T, change: 'SCRIPT_NAME /app', variant: { requestHandlerClass: editEnviron((env) => (env['SCRIPT_NAME'] = '/app')) } },
  { id: 'ENV-REMOTE-ADDR', role: 'breaks', mode: T, change: 'REMOTE_ADDR of another host', variant: { requestHandlerClass: editEnviron((env) => (env['REMOTE_ADDR'] = '10.9.8.7')) } },
  { id: 'ENV-REMOTE-HOST', role: 'breaks', mode: T, change: 'REMOTE_HOST from a reverse lookup', variant: { requestHandlerClass: editEnviron((env) => (env['REMOTE_HOST'] = 'localhost')) } },
  {
    id: 'ENV-CONTENT-LENGTH',
    role: 'breaks',
    mode: T,
    change: 'Content-Length also as HTTP_CONTENT_LENGTH',
    variant: { requestHandlerClass: editEnviron((env) => void (env['CONTENT_LENGTH'] && (env['HTTP_CONTENT_LENGTH'] = env['CONTENT_LENGTH']))) },
  },
  {
    id: 'ENV-CONTENT-TYPE',
    role: 'breaks',
    mode: T,
    change: 'Content-Type also as HTTP_CONTENT_TYPE',
    variant: { requestHandlerClass: editEnviron((env) => (env['HTTP_CONTENT_TYPE'] = env['CONTENT_TYPE'])) },
  },
  {
    id: 'ENV-REQUEST-METHOD',
    role: 'breaks',
    mode: T,
    change: 'REQUEST_METHOD upper-cased',
    variant: { requestHandlerClass: editEnviron((env) => (env['REQUEST_METHOD'] = String(env['REQUEST_METHOD']).toUpperCase())) },
  },
  {
    id: 'ENV-PATH-INFO',
    role: 'breaks',
    mode: T,
    change: 'PATH_INFO bytes decoded as UTF-8 instead of latin-1',
    variant: { requestHandlerClass: editEnviron((env) => (env['PATH_INFO'] = Buffer.from(String(env['PATH_INFO']), 'latin1').toString('utf8'))) },
  },
  {
    id: 'ENV-QUERY-STRING',
    role: 'breaks',
    mode: T,
    change: 'QUERY_STRING percent-decoded',
    variant: { requestHandlerClass: editEnviron((env) => (env['QUERY_STRING'] = String(env['QUERY_STRING']).replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))))) },
  },
  { id: 'ENV-SERVER-PROTOCOL', role: 'breaks', mode: T, change: 'SERVER_PROTOCOL always HTTP/1.1', variant: { requestHandlerClass: editEnviron((env) => (env['SERVER_PROTOCOL'] = 'HTTP/1.1')) } },
  {
    id: 'ENV-HTTP-VARS',
    role: 'breaks',
    mode: T,
    change: 'a repeated header keeps only its last value',
    variant: { requestHandlerClass: editEnviron((env) => void (env['HTTP_X_REP'] && (env['HTTP_X_REP'] = String(env['HTTP_X_REP']).split(',').pop()))) },
  },
  {
    id: 'ENV-WSGI-VARS',
    role: 'breaks',
    mode: T,
    change: 'wsgi.run_once true',
    variant: {
      serverHandlerClass: class extends ServerHandler {
        protected override setupEnviron(): void {
          super.setupEnviron();
          this.environ['wsgi.run_once'] = true;
        }
      },
    },
  },
  { id: 'ENV-SERVER-SOFTWARE', role: 'breaks', mode: T, change: 'SERVER_SOFTWARE empty', variant: { requestHandlerClass: editEnviron((env) => (env['SERVER_SOFTWARE'] = '')) } },
  { id: 'ENV-BODY', role: 'breaks', mode: T, change: 'wsgi.input reads the connection past Content-Length', variant: { serverHandlerClass: UnboundedInput } },
  {
    id: 'HDR-UNDERSCORE-STRIP',
    role: 'breaks',
    mode: T,
    change: 'underscore headers kept (as wsgiref and gunicorn do)',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override stripUnderscoreHeaders(): void {}
      },
    },
  },
  {
    id: 'HDR-LINE-LIMIT',
    role: 'breaks',
    mode: T,
    change: 'header lines capped one byte lower (65535)',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override headerLimits = { maxLine: 65535, maxHeaders: 100 };
      },
    },
  },
  {
    id: 'HDR-COUNT-LIMIT',
    role: 'breaks',
    mode: T,
    change: 'one header line more allowed (the blank line not counted)',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override headerLimits = { maxLine: 65536, maxHeaders: 101 };
      },
    },
  },
  {
    id: 'KA-HTTP11-PERSIST',
    role: 'breaks',
    mode: T,
    change: 'closes after every request',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override async handleOneRequest(): Promise<void> {
          await super.handleOneRequest();
          this.closeConnection = true;
        }
      },
    },
  },
  {
    id: 'KA-CONNECTION-CLOSE',
    role: 'breaks',
    mode: T,
    change: 'Connection: close ignored',
    variant: { requestHandlerClass: afterParse((request) => request.connection === 'close' && request.keepAlive(true)) },
  },
  {
    id: 'KA-HTTP10-CLOSE',
    role: 'breaks',
    mode: T,
    change: 'HTTP/1.0 kept alive by default',
    variant: { requestHandlerClass: afterParse((request) => request.version === 'HTTP/1.0' && request.keepAlive(true)) },
  },
  {
    id: 'KA-HTTP10-KEEPALIVE',
    role: 'breaks',
    mode: T,
    change: 'HTTP/1.0 always closed',
    variant: { requestHandlerClass: afterParse((request) => request.version === 'HTTP/1.0' && request.keepAlive(false)) },
  },
  { id: 'KA-NO-LENGTH-CLOSE', role: 'breaks', mode: T, change: 'no Connection: close for a response without Content-Length', variant: { serverHandlerClass: connectionCloseOnlyWhen('serial') } },
  { id: 'KA-SERIAL-CLOSE', role: 'breaks', mode: S, change: 'keep-alive without threading', variant: { serverHandlerClass: connectionCloseOnlyWhen('no-length') } },
  {
    id: 'KA-PIPELINE',
    role: 'breaks',
    mode: T,
    change: 'closes when more input is already waiting (no pipelining)',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override async handleOneRequest(): Promise<void> {
          await super.handleOneRequest();
          if (this.rfile.buffered > 0) this.closeConnection = true;
        }
      },
    },
  },
  { id: 'KA-UNREAD-BODY', role: 'breaks', mode: T, change: 'the unread body is left on the connection', variant: { serverHandlerClass: KeepsUnreadBody } },
  {
    id: 'KA-CHUNKED-IGNORED',
    role: 'breaks',
    mode: T,
    change: 'Transfer-Encoding refused with 501',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override async parseRequest(rawRequestline: Buffer): Promise<boolean> {
          if (!(await super.parseRequest(rawRequestline))) return false;
          if (this.headers.get('Transfer-Encoding') === undefined) return true;
          await this.sendError(501);
          return false;
        }
      },
    },
  },
  {
    id: 'KA-ERROR-CLOSE',
    role: 'breaks',
    mode: T,
    change: 'the connection kept after a server-generated error',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override async sendError(code: number, message?: string, explain?: string): Promise<void> {
          await super.sendError(code, message, explain);
          this.closeConnection = false;
        }
      },
    },
  },
  { id: 'KA-SERIAL-HOLD', role: 'breaks', mode: S, change: 'connections served side by side (threaded)', variant: { threaded: true } },
  { id: 'KA-HALF-CLOSE', role: 'breaks', mode: T, change: 'connections end with a reset', variant: { requestHandlerClass: ResetsAtEnd } },
  { id: 'KA-EMPTY-LINE', role: 'breaks', mode: T, change: 'blank lines before a request line skipped', variant: { requestHandlerClass: SkipsBlankLines } },
  { id: 'RFC-EMPTY-LINE', role: 'fixes', mode: T, change: 'blank lines before a request line skipped', variant: { requestHandlerClass: SkipsBlankLines } },
  {
    id: 'URI-414',
    role: 'breaks',
    mode: T,
    change: 'request lines of 65537 bytes allowed',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override maxRequestLine = 65537;
      },
    },
  },
  {
    id: 'URI-LIMIT-EXACT',
    role: 'breaks',
    mode: T,
    change: 'request lines capped one byte lower (65535)',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override maxRequestLine = 65535;
      },
    },
  },
  { id: 'TLS-CLIENTHELLO-400', role: 'breaks', mode: T, change: 'errors always carry a status line', variant: { requestHandlerClass: StatusLineErrors } },
  { id: 'RFC-RL-ERROR-STATUS', role: 'fixes', mode: T, change: 'errors always carry a status line', variant: { requestHandlerClass: StatusLineErrors } },
  {
    id: 'TLS-LOG',
    role: 'breaks',
    mode: T,
    change: 'no HTTPS hint: a handshake logs like any request',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override logMessage(text: string, firstArg: string, secondArg: string): void {
          super.logMessage(text, firstArg.replace(/^\x16\x03/, 'TLS'), secondArg);
        }
      },
    },
  },
  {
    id: 'TLS-PROMPT',
    role: 'fixes',
    mode: T,
    change: 'a server that answers 400 to the first bytes it gets',
    variant: { tiny: (socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')) },
  },
  {
    id: 'RL-VERSION-SYNTAX',
    role: 'breaks',
    mode: T,
    change: 'a malformed version read as HTTP/1.0',
    variant: { requestHandlerClass: rewriteRequestLine((line) => line.replace(/^(\S+ \S+) (\S+)(\r?\n)$/, (whole, head: string, version: string, end: string) => (HTTP_VERSION.test(version) ? whole : `${head} HTTP/1.0${end}`))) },
  },
  {
    id: 'RL-WORD-COUNT',
    role: 'breaks',
    mode: T,
    change: 'a one-word request line read as a request for /',
    variant: { requestHandlerClass: rewriteRequestLine((line) => line.replace(/^(\S+)(\r?\n)$/, '$1 / HTTP/1.0$2')) },
  },
  {
    id: 'RL-VERSION-2',
    role: 'breaks',
    mode: T,
    change: 'HTTP/2 and above served as HTTP/1.1',
    variant: { requestHandlerClass: rewriteRequestLine((line) => line.replace(/ HTTP\/([2-9]|\d\d+)\.\d+(\r?\n)$/, ' HTTP/1.1$2')) },
  },
  {
    id: 'RL-HTTP09',
    role: 'breaks',
    mode: T,
    change: 'two-word requests served as HTTP/1.0',
    variant: { requestHandlerClass: rewriteRequestLine((line) => line.replace(/^(\S+ \S+)(\r?\n)$/, '$1 HTTP/1.0$2')) },
  },
  {
    id: 'RL-HTTP09-METHOD',
    role: 'breaks',
    mode: T,
    change: 'any HTTP/0.9 method served as GET',
    variant: { requestHandlerClass: rewriteRequestLine((line) => line.replace(/^\S+( \S+\r?\n)$/, 'GET$1')) },
  },
  { id: 'EXP-100-CONTINUE', role: 'breaks', mode: T, change: 'no 100 Continue', variant: { requestHandlerClass: NoContinue } },
  {
    id: 'ERR-FORMAT',
    role: 'breaks',
    mode: T,
    change: 'error pages typed text/html without the charset',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override sendHeader(keyword: string, value: string): void {
          super.sendHeader(keyword, keyword === 'Content-Type' ? 'text/html' : value);
        }
      },
    },
  },
  {
    id: 'ERR-HEAD-NO-BODY',
    role: 'breaks',
    mode: T,
    change: 'error pages sent for HEAD too',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override sendError(code: number, message?: string, explain?: string): Promise<void> {
          if (this.command === 'HEAD') this.command = 'GET';
          return super.sendError(code, message, explain);
        }
      },
    },
  },
  {
    id: 'RFC-HEAD-NO-BODY',
    role: 'fixes',
    mode: T,
    change: "the application's body dropped for HEAD",
    variant: {
      serverHandlerClass: class extends ServerHandler {
        protected override sendHeaders(firstChunk: Buffer): Promise<void> {
          return super.sendHeaders(this.environ['REQUEST_METHOD'] === 'HEAD' ? Buffer.alloc(0) : firstChunk);
        }
      },
    },
  },
  {
    id: 'ERR-APP-EXCEPTION',
    role: 'breaks',
    mode: T,
    change: "the exception's text in the 500 body",
    variant: {
      serverHandlerClass: class extends ServerHandler {
        protected override async handleError(err: unknown): Promise<void> {
          if (this.headersSent) return super.handleError(err);
          this.startResponse('500 Internal Server Error', [['Content-Type', 'text/plain']], err);
          this.result = [Buffer.from(String(err))];
          await this.finishResponse();
        }
      },
    },
  },
  {
    id: 'ERR-APP-EXCEPTION-LATE',
    role: 'breaks',
    mode: T,
    change: 'a 500 status line written after the headers already went out',
    variant: {
      serverHandlerClass: class extends ServerHandler {
        protected override async handleError(err: unknown): Promise<void> {
          if (this.headersSent) await this.stdout.write(Buffer.from('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n'));
          await super.handleError(err);
        }
      },
    },
  },
  {
    id: 'LOG-ACCESS',
    role: 'breaks',
    mode: T,
    change: 'access lines without quotes around the request line',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        override logRequest(code: string, size: number | string): void {
          this.logMessage(`${this.requestline} ${code} ${size}`, this.requestline, code);
        }
      },
    },
  },
  {
    id: 'LOG-LEVELS',
    role: 'breaks',
    mode: T,
    logFormat: 'json',
    change: 'every line logged at info',
    variant: {
      requestHandlerClass: class extends WSGIRequestHandler {
        protected override logMessage(text: string): void {
          this.server.log.info(text);
        }
      },
    },
  },
];
