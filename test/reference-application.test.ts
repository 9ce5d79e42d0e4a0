/**
 * The application layer (reference/application.ts: what Django's WSGIHandler and BaseHandler do between the
 * gateway and a view). The middleware onion, exceptions turned into responses, cookies and file responses are
 * driven through the reference server on 127.0.0.1; what a response looks like at the gateway is compared with
 * real Django 3.2's WSGIHandler (DEBUG=False, no middleware, no templates) run by the oracle.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FileResponse, Http404, HttpRequest, HttpResponse, djangoApplication, type CookieOptions, type Middleware, type View } from '../reference/application.ts';
import type { Application, Environ, HeaderList, InputStream } from '../reference/gateway.ts';
import { PythonOracle, latin1Base64 } from './support/python-oracle.ts';
import { converse, getClosing, request, send, startReferencePeer, waitUntil, type ReferencePeer } from './support/reference-harness.ts';

let oracle: PythonOracle;
let reference: ReferencePeer;
let application: Application;
beforeAll(async () => {
  oracle = PythonOracle.start();
  reference = await startReferencePeer({ application: (environ, startResponse) => application(environ, startResponse) });
});
afterAll(async () => {
  await Promise.all([oracle?.close(), reference?.stop()]);
});

interface Served {
  statusLine: string;
  headerLines: string[];
  body: Buffer;
}

/** Serves one request with `app` through the reference server and splits what came back. */
async function serve(app: Application, raw: string): Promise<Served> {
  application = app;
  const { received } = await converse(reference.endpoint, send([raw]));
  const headEnd = received.indexOf('\r\n\r\n');
  const [statusLine = '', ...headerLines] = received.subarray(0, headEnd).toString('latin1').split('\r\n');
  return { statusLine, headerLines, body: received.subarray(headEnd + 4) };
}

/** Each middleware records when the request passes in and the response (with its status) passes out. */
function recorder(events: string[]) {
  const layer =
    (name: string, fail?: 'before' | 'after'): Middleware =>
    (getResponse) =>
    async (request) => {
      events.push(`${name} in`);
      if (fail === 'before') throw new Error(`${name} failed`);
      const response = await getResponse(request);
      if (fail === 'after') throw new Error(`${name} failed`);
      events.push(`${name} out ${response.status}`);
      return response;
    };
  const view =
    (outcome: 'ok' | 'raise' | '404'): View =>
    () => {
      events.push('view');
      if (outcome === 'raise') throw new Error('the view failed');
      if (outcome === '404') throw new Http404('gone');
      return new HttpResponse('ok');
    };
  return { layer, view };
}

describe('middleware (load_middleware, convert_exception_to_response)', () => {
  test('the first middleware listed is the outermost layer: in A, B, C, view, out C, B, A', async () => {
    const events: string[] = [];
    const { layer, view } = recorder(events);
    const served = await serve(djangoApplication(view('ok'), [layer('A'), layer('B'), layer('C')]), getClosing('/'));
    expect(served.statusLine).toBe('HTTP/1.1 200 OK');
    expect(events).toEqual(['A in', 'B in', 'C in', 'view', 'C out 200', 'B out 200', 'A out 200']);
  });

  test('an exception in the view becomes a 500 response that every middleware still sees on its way out', async () => {
    const events: string[] = [];
    const { layer, view } = recorder(events);
    const served = await serve(djangoApplication(view('raise'), [layer('A'), layer('B'), layer('C')]), getClosing('/boom'));
    expect(served.statusLine).toBe('HTTP/1.1 500 Internal Server Error');
    expect(events).toEqual(['A in', 'B in', 'C in', 'view', 'C out 500', 'B out 500', 'A out 500']);
    expect(reference.raw.join('')).toContain('Internal Server Error: /boom');
  });

  test('an exception in a middleware before it calls the next: inner layers never run, outer ones see a 500', async () => {
    const events: string[] = [];
    const { layer, view } = recorder(events);
    const served = await serve(djangoApplication(view('ok'), [layer('A'), layer('B', 'before'), layer('C')]), getClosing('/'));
    expect(served.statusLine).toBe('HTTP/1.1 500 Internal Server Error');
    expect(events).toEqual(['A in', 'B in', 'A out 500']);
  });

  test('an exception in a middleware after the view answered: the inner response is replaced by a 500', async () => {
    const events: string[] = [];
    const { layer, view } = recorder(events);
    const served = await serve(djangoApplication(view('ok'), [layer('A'), layer('B', 'after'), layer('C')]), getClosing('/'));
    expect(served.statusLine).toBe('HTTP/1.1 500 Internal Server Error');
    expect(events).toEqual(['A in', 'B in', 'C in', 'view', 'C out 200', 'A out 500']);
  });

  test('Http404 from the view becomes a 404 response, seen as such by the middleware', async () => {
    const events: string[] = [];
    const { layer, view } = recorder(events);
    const served = await serve(djangoApplication(view('404'), [layer('A')]), getClosing('/missing'));
    expect(served.statusLine).toBe('HTTP/1.1 404 Not Found');
    expect(events).toEqual(['A in', 'view', 'A out 404']);
  });
});

describe("responses at the gateway against Django 3.2's WSGIHandler", () => {
  interface GatewayAnswer {
    status: string;
    headers: HeaderList;
    body: string;
  }

  const noInput: InputStream = { read: async () => Buffer.alloc(0), readline: async () => Buffer.alloc(0) };

  /** Calls the application as a server would, with the environ the oracle gives Django's handler. */
  async function atGateway(app: Application, method: string, path: string): Promise<GatewayAnswer> {
    const environ: Environ = {
      REQUEST_METHOD: method,
      PATH_INFO: path,
      SCRIPT_NAME: '',
      QUERY_STRING: '',
      SERVER_NAME: 'localhost',
      SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.1',
      HTTP_HOST: 'localhost',
      'wsgi.input': noInput,
      'wsgi.errors': { write: () => {}, flush: () => {} },
      'wsgi.url_scheme': 'http',
    };
    const answer: GatewayAnswer = { status: '', headers: [], body: '' };
    const body = await app(environ, (status, headers) => {
      answer.status = status;
      answer.headers = headers;
      return async () => {};
    });
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    answer.body = Buffer.concat(chunks).toString('latin1');
    return answer;
  }

  /** The oracle's URLconf, in TypeScript. */
  const routes: Record<string, View> = {
    '/hello': () => new HttpResponse('hello'),
    '/missing': () => {
      throw new Http404('gone');
    },
    '/boom': () => {
      throw new Error('boom');
    },
    '/cookies': () => {
      const response = new HttpResponse('cookies');
      response.setCookie('plain', 'v');
      response.setCookie('flags', 'v', { httpOnly: true, sameSite: 'Lax' });
      return response;
    },
  };
  const routed = djangoApplication((request) => {
    const view = routes[request.path];
    if (!view) throw new Http404('no route');
    return view(request);
  });

  const compare = async (path: string) => {
    const theirs = await oracle.one<GatewayAnswer>('django_wsgi', { method: 'GET', path });
    expect(await atGateway(routed, 'GET', path)).toEqual(theirs);
  };

  test("a view's HttpResponse: status, Content-Type, body", () => compare('/hello'));

  // Divergences (reported): Django 3.2's default 404 and 500 pages (views/defaults.py ERROR_PAGE_TEMPLATE, served
  // as `text/html`) are full HTML documents; the reference sends `<h1>…</h1>` fragments as `text/html; charset=utf-8`.
  test('Http404 becomes the 404 page of django.views.defaults.page_not_found', () => compare('/missing'));
  test('an unknown path gets the same 404 page', () => compare('/nowhere'));
  test('an exception becomes the 500 page of django.views.defaults.server_error', () => compare('/boom'));

  // Divergence (reported): http.cookies.Morsel writes its attributes sorted by name (HttpOnly; Path; SameSite).
  test('cookies become Set-Cookie headers after the others, each as Morsel.output(header="")', () => compare('/cookies'));

  test('Django: status, Content-Type and the page of each case (pins the oracle)', async () => {
    const answers = await oracle.call<GatewayAnswer>('django_wsgi', ['/missing', '/boom', '/cookies'].map((path) => ({ method: 'GET', path })));
    expect(answers.map((answer) => answer.status)).toEqual(['404 Not Found', '500 Internal Server Error', '200 OK']);
    expect(answers[0]!.headers).toEqual([['Content-Type', 'text/html']]);
    expect(answers[1]!.body).toContain('<h1>Server Error (500)</h1><p></p>');
    expect(answers[2]!.headers.slice(1)).toEqual([
      ['Set-Cookie', ' plain=v; Path=/'],
      ['Set-Cookie', ' flags=v; HttpOnly; Path=/; SameSite=Lax'],
    ]);
  });
});

describe('cookies', () => {
  /** HttpResponse.set_cookie's keyword arguments for the same options. */
  const djangoArguments = (name: string, value: string, options: CookieOptions) => ({
    key: name,
    value,
    ...(options.path !== undefined && { path: options.path }),
    ...(options.maxAge !== undefined && { max_age: options.maxAge }),
    ...(options.httpOnly !== undefined && { httponly: options.httpOnly }),
    ...(options.sameSite !== undefined && { samesite: options.sameSite }),
  });

  async function compareCookie(name: string, value: string, options: CookieOptions = {}): Promise<void> {
    const response = new HttpResponse();
    response.setCookie(name, value, options);
    const [theirs] = await oracle.one<string[]>('set_cookie', djangoArguments(name, value, options));
    expect(response.cookies.get(name)).toBe(theirs);
  }

  test.each<[string, string, CookieOptions]>([
    ['sessionid', 'abc123', {}],
    ['a', 'b', { path: '/app' }],
    ['a', 'b', { sameSite: 'Strict' }],
    ['a', 'b', { path: '/x', sameSite: 'None' }],
  ])('set_cookie(%s, %s, %o) is what Django sends, leading space included', (name, value, options) => compareCookie(name, value, options));

  // Divergences (reported): Morsel sorts its attributes (`HttpOnly; Path=/`, not `Path=/; HttpOnly`); set_cookie
  // with max_age also sets `expires`; a value with a space or a quote is quoted and escaped.
  test('httponly', () => compareCookie('a', 'b', { httpOnly: true }));
  test('max_age (Django adds expires=…)', () => compareCookie('a', 'b', { maxAge: 0 }));
  test('a value that needs quoting', () => compareCookie('a', 'b c', {}));

  test('on the wire each cookie is one Set-Cookie field, and the leading space of Morsel.output(header="") survives', async () => {
    const served = await serve(
      djangoApplication(() => {
        const response = new HttpResponse('c');
        response.setCookie('one', '1');
        response.setCookie('two', '2', { sameSite: 'Lax' });
        return response;
      }),
      getClosing('/'),
    );
    expect(served.headerLines.filter((line) => line.startsWith('Set-Cookie'))).toEqual(['Set-Cookie:  one=1; Path=/', 'Set-Cookie:  two=2; Path=/; SameSite=Lax']);
  });
});

describe('HttpRequest', () => {
  test('fields from an environ: method upper-cased, path, query, headers, cookies', () => {
    const request = new HttpRequest({
      REQUEST_METHOD: 'post',
      SCRIPT_NAME: '',
      PATH_INFO: '/a b/c',
      QUERY_STRING: 'x=1&y=%20two&x=3',
      HTTP_X_FORWARDED_FOR: '10.0.0.1',
      HTTP_COOKIE: 'sessionid=abc; theme=dark',
    });
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/a b/c');
    expect(request.query.getAll('x')).toEqual(['1', '3']);
    expect(request.query.get('y')).toBe(' two');
    expect(request.header('X-Forwarded-For')).toBe('10.0.0.1');
    expect(request.header('Missing')).toBeUndefined();
    expect([...request.cookies]).toEqual([
      ['sessionid', 'abc'],
      ['theme', 'dark'],
    ]);
  });

  const cookiesOf = (header: string) => [...new HttpRequest({ HTTP_COOKIE: header }).cookies].sort();
  const djangoCookies = (header: string) => oracle.one<Array<[string, string]>>('parse_cookie', latin1Base64(header));

  test.each(['a=1; b=2', ' a = 1 ;b=2 ', 'e=f=g', 'dup=1; dup=2', ''])('the Cookie header %j parses as django.http.parse_cookie parses it', async (header) => {
    expect(cookiesOf(header)).toEqual(await djangoCookies(header));
  });

  // Divergences (reported): parse_cookie keeps a chunk without "=" under the name "" and unquotes quoted values.
  test.each(['flag; a=1', '=x', 'q="a b"'])('the Cookie header %j parses as django.http.parse_cookie parses it', async (header) => {
    expect(cookiesOf(header)).toEqual(await djangoCookies(header));
  });

  test('body() reads exactly CONTENT_LENGTH bytes of wsgi.input, and the next pipelined request still parses', async () => {
    const bodies: string[] = [];
    const app = djangoApplication(async (request) => {
      const body = await request.body();
      bodies.push(body.toString('latin1'));
      const response = new HttpResponse(`read ${body.length}`);
      // Django's response iterable has no len(): without its own Content-Length the connection would close.
      response.setHeader('Content-Length', '6');
      return response;
    });
    application = app;
    const { received } = await converse(reference.endpoint, send([request('POST', '/', 'Content-Length: 5\r\n', 'helloGET / HTTP/1.1\r\nConnection: close\r\n\r\n')]));
    expect(bodies).toEqual(['hello', '']);
    expect(received.toString('latin1').match(/read \d/g)).toEqual(['read 5', 'read 0']);
  });
});

describe('FileResponse', () => {
  test('the file is streamed block by block through wsgi.file_wrapper, arrives whole, and is closed once', async () => {
    const content = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256));
    const reads: number[] = [];
    let offset = 0;
    let closed = 0;
    const file = {
      read(size: number) {
        reads.push(size);
        const block = content.subarray(offset, offset + size);
        offset += block.length;
        return block;
      },
      close: () => closed++,
    };
    const served = await serve(
      djangoApplication(() => new FileResponse(file)),
      getClosing('/download'),
    );
    expect(served.statusLine).toBe('HTTP/1.1 200 OK');
    expect(served.headerLines).toContain('Content-Type: application/octet-stream');
    // No length is known for a stream: the server ends the body by closing.
    expect(served.headerLines).toContain('Connection: close');
    expect(served.body.equals(content)).toBe(true);
    expect(reads).toEqual([4096, 4096, 4096, 4096]);
    expect(await waitUntil(() => closed > 0)).toBe(true);
    expect(closed).toBe(1);
  });
});
