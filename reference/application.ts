import type { Application, Environ, HeaderList, InputStream, ResponseBody } from './gateway.ts';
import { HTTP_STATUS } from './http-status.ts';

/**
 * The application layer: what Django's WSGIHandler does between the gateway and a view — a request object
 * built from the environ, middleware composed in onion order (BaseHandler.load_middleware), every exception
 * turned into a response (convert_exception_to_response), cookies expanded into Set-Cookie headers, and file
 * responses streamed through `wsgi.file_wrapper`.
 */

export class HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly cookies: ReadonlyMap<string, string>;

  constructor(readonly META: Environ) {
    this.method = String(META['REQUEST_METHOD'] ?? '').toUpperCase();
    this.path = String(META['SCRIPT_NAME'] ?? '') + String(META['PATH_INFO'] ?? '/');
    this.query = new URLSearchParams(String(META['QUERY_STRING'] ?? ''));
    this.cookies = parseCookieHeader(String(META['HTTP_COOKIE'] ?? ''));
  }

  header(name: string): string | undefined {
    const value = this.META['HTTP_' + name.toUpperCase().replaceAll('-', '_')];
    return typeof value === 'string' ? value : undefined;
  }

  /** The whole body, bounded by CONTENT_LENGTH as Django's request.body is. */
  async body(): Promise<Buffer> {
    const input = this.META['wsgi.input'] as InputStream;
    const length = Number.parseInt(String(this.META['CONTENT_LENGTH'] ?? ''), 10);
    return Number.isFinite(length) && length > 0 ? input.read(length) : Buffer.alloc(0);
  }
}

/** http.cookies._unquote: a quoted value loses its quotes and its backslash escapes (\\" and octal \\ooo). */
function unquoteCookieValue(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\([0-3][0-7][0-7]|.)/g, (_, escaped: string) =>
    escaped.length === 3 ? String.fromCharCode(parseInt(escaped, 8)) : escaped,
  );
}

/** django.http.parse_cookie: a chunk without `=` is a value with an empty name; the last of a name wins. */
function parseCookieHeader(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const chunk of header.split(';')) {
    const eq = chunk.indexOf('=');
    const key = (eq >= 0 ? chunk.slice(0, eq) : '').trim();
    const value = (eq >= 0 ? chunk.slice(eq + 1) : chunk).trim();
    if (key || value) cookies.set(key, unquoteCookieValue(value));
  }
  return cookies;
}

/** http.cookies._quote: a value with any character outside the legal set is quoted, with \\" \\\\ and octal escapes. */
const COOKIE_LEGAL = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]*$/;

function quoteCookieValue(value: string): string {
  if (COOKIE_LEGAL.test(value)) return value;
  let quoted = '"';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') quoted += '\\' + ch;
    else if (code >= 0x20 && code < 0x7f) quoted += ch;
    else quoted += '\\' + code.toString(8).padStart(3, '0');
  }
  return quoted + '"';
}

export interface CookieOptions {
  path?: string;
  maxAge?: number;
  httpOnly?: boolean;
  sameSite?: 'Lax' | 'Strict' | 'None';
}

export class HttpResponse {
  readonly headers: HeaderList = [];
  readonly cookies = new Map<string, string>();
  protected chunks: Buffer[];

  constructor(
    content: string | Buffer = '',
    readonly status = 200,
    contentType = 'text/html; charset=utf-8',
  ) {
    this.chunks = [typeof content === 'string' ? Buffer.from(content, 'utf8') : content];
    this.setHeader('Content-Type', contentType);
  }

  get reasonPhrase(): string {
    return HTTP_STATUS.get(this.status)?.phrase ?? 'Unknown Status Code';
  }

  setHeader(name: string, value: string): void {
    const existing = this.headers.findIndex(([k]) => k.toLowerCase() === name.toLowerCase());
    if (existing >= 0) this.headers[existing] = [name, value];
    else this.headers.push([name, value]);
  }

  /**
   * The Morsel's output as Django 3.2 sends it: `c.output(header='')` keeps a leading space, attributes come in
   * Morsel's sorted order, and max_age also sets expires.
   */
  setCookie(name: string, value: string, options: CookieOptions = {}): void {
    const attributes: Array<[string, string | null]> = [];
    if (options.maxAge !== undefined) {
      attributes.push(['expires', new Date(Date.now() + options.maxAge * 1000).toUTCString()]);
    }
    if (options.httpOnly) attributes.push(['HttpOnly', null]);
    if (options.maxAge !== undefined) attributes.push(['Max-Age', String(options.maxAge)]);
    attributes.push(['Path', options.path ?? '/']);
    if (options.sameSite) attributes.push(['SameSite', options.sameSite]);
    const morsel = [`${name}=${quoteCookieValue(value)}`, ...attributes.map(([k, v]) => (v === null ? k : `${k}=${v}`))].join('; ');
    this.cookies.set(name, ' ' + morsel);
  }

  /** The body as WSGIHandler returns it: an iterable without a length, so wsgiref adds no Content-Length. */
  body(): ResponseBody {
    const chunks = this.chunks;
    return { *[Symbol.iterator]() { yield* chunks; } };
  }
}

/** Django's FileResponse: the file is read block by block through `wsgi.file_wrapper`, never whole. */
export class FileResponse extends HttpResponse {
  constructor(
    private readonly file: { read(size: number): Buffer; close?: () => void },
    contentType = 'application/octet-stream',
    readonly blockSize = 4096,
  ) {
    super('', 200, contentType);
  }

  streamWith(environ: Environ): ResponseBody {
    const Wrapper = environ['wsgi.file_wrapper'] as new (file: FileResponse['file'], block: number) => ResponseBody;
    return new Wrapper(this.file, this.blockSize);
  }
}

export type Handler = (request: HttpRequest) => Promise<HttpResponse>;
export type View = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;
/** A middleware factory, as Django's: given the next handler, returns this layer's handler. */
export type Middleware = (getResponse: Handler) => Handler;

/** Raised by a view for a missing resource; becomes a 404 as Django's Http404. */
export class Http404 extends Error {}

/** django.views.defaults.ERROR_PAGE_TEMPLATE: the 404 and 500 pages when the project has no templates for them. */
function errorPage(title: string, details: string): string {
  return `\n<!doctype html>\n<html lang="en">\n<head>\n  <title>${title}</title>\n</head>\n<body>\n  <h1>${title}</h1><p>${details}</p>\n</body>\n</html>\n`;
}

/** convert_exception_to_response: an exception never crosses a layer, it becomes a response (DEBUG=False pages). */
function convertExceptionToResponse(handler: Handler): Handler {
  return async (request) => {
    try {
      return await handler(request);
    } catch (err) {
      if (err instanceof Http404) {
        return new HttpResponse(errorPage('Not Found', 'The requested resource was not found on this server.'), 404, 'text/html');
      }
      const errors = request.META['wsgi.errors'] as { write(text: string): void } | undefined;
      errors?.write(`Internal Server Error: ${request.path}\n${err instanceof Error ? err.stack : String(err)}\n`);
      return new HttpResponse(errorPage('Server Error (500)', ''), 500, 'text/html');
    }
  };
}

/** load_middleware: the first middleware listed is the outermost layer of the onion. */
export function composeMiddleware(view: View, middleware: readonly Middleware[]): Handler {
  let handler = convertExceptionToResponse(async (request) => view(request));
  for (const layer of [...middleware].reverse()) handler = convertExceptionToResponse(layer(handler));
  return handler;
}

/** WSGIHandler.__call__: the gateway application that serves a view through the middleware. */
export function djangoApplication(view: View, middleware: readonly Middleware[] = []): Application {
  const handler = composeMiddleware(view, middleware);
  return async (environ, startResponse) => {
    const response = await handler(new HttpRequest(environ));
    const headers: HeaderList = [...response.headers, ...[...response.cookies.values()].map((c): [string, string] => ['Set-Cookie', c])];
    startResponse(`${response.status} ${response.reasonPhrase}`, headers);
    return response instanceof FileResponse ? response.streamWith(environ) : response.body();
  };
}

/** The smallest application: a five-byte body with a known length, so the server keeps the connection alive. */
export const helloApplication: Application = (_environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [Buffer.from('hello')];
};
