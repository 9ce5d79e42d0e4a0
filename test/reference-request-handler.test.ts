/**
 * The per-connection and server layers (reference/request-handler.ts: Django's WSGIRequestHandler over CPython's
 * BaseHTTPRequestHandler; reference/server.ts: WSGIServer), through real sockets. Wire-visible cases go to real
 * Django 3.2 as well (test/support/python-oracle.py `serve`): Django's answer is pinned, then the reference must
 * match it byte for byte, in how the connection ends, and in its log records and their levels.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { ServerLog } from '../reference/server-log.ts';
import { WSGIServer } from '../reference/server.ts';
import { PythonOracle, type LogRecord, type ServingPeer } from './support/python-oracle.ts';
import {
  HELLO,
  PEER_START_MS,
  RawClient,
  TEST_TIMEOUT_MS,
  accessRecord as access,
  both,
  converse,
  errorPage,
  errorResponse,
  get,
  getClosing,
  observe,
  request,
  responseHead as head,
  send,
  socketPair,
  startPair,
  startReferencePeer,
  stopPair,
  waitUntil,
  WAIT_MS,
  type Pair,
  type Script,
} from './support/reference-harness.ts';
import { catalogueApplication } from './support/wsgi-catalogue.ts';

vi.setConfig({ testTimeout: TEST_TIMEOUT_MS });

const info = (message: string): LogRecord => ({ level: 'INFO', message });
const warning = (message: string): LogRecord => ({ level: 'WARNING', message });
const hasHello = (received: Buffer) => received.includes('\r\n\r\nhello');

const brokenPipe = (records: readonly LogRecord[]) => records.some((record) => record.message.startsWith('- Broken pipe'));

/** A keep-alive request answered, then a reset while the server waits for the next request line. */
const resetWhileIdle: Script = async (client) => {
  await client.write(get('/hello'));
  await client.waitFor(hasHello);
  client.reset();
};

/** The environ lines the catalogue's `/environ` application answers with, for one key. */
const environLine = (key: string, value: string) => `\n${key}: ${value}\n`;

describe('WSGIRequestHandler against Django 3.2 (threaded)', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({ threaded: true });
  }, PEER_START_MS);
  afterAll(() => stopPair(pair));

  describe('the keep-alive loop', () => {
    test('HTTP/1.1 requests pipelined in one write are answered in order on one connection (KA-HTTP11-PERSIST, KA-PIPELINE)', async () => {
      const { ours, theirs } = await both(pair, send([get('/hello') + get('/hello?2') + getClosing('/hello?3')]));
      expect(theirs.text).toBe(HELLO + HELLO + HELLO);
      expect(theirs.ending).toBe('eof');
      expect(theirs.records).toEqual([access('GET /hello HTTP/1.1', 200, 5), access('GET /hello?2 HTTP/1.1', 200, 5), access('GET /hello?3 HTTP/1.1', 200, 5)]);
      expect(ours).toEqual(theirs);
    });

    test('Connection: close ends the loop: a request pipelined behind it gets nothing (KA-CONNECTION-CLOSE)', async () => {
      const { ours, theirs } = await both(pair, send([getClosing('/hello') + get('/hello?never')]));
      expect(theirs.text).toBe(HELLO);
      expect(theirs.records).toEqual([access('GET /hello HTTP/1.1', 200, 5)]);
      expect(ours).toEqual(theirs);
    });

    test('HTTP/1.0 closes after one response (KA-HTTP10-CLOSE)', async () => {
      const { ours, theirs } = await both(pair, send(['GET /hello HTTP/1.0\r\n\r\n' + get('/hello?never')]));
      expect(theirs.text).toBe(HELLO);
      expect(ours).toEqual(theirs);
    });

    test('HTTP/1.0 with Connection: keep-alive stays open, and no Connection header is added (KA-HTTP10-KEEPALIVE)', async () => {
      const { ours, theirs } = await both(pair, send(['GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' + 'GET /hello?2 HTTP/1.0\r\n\r\n']));
      expect(theirs.text).toBe(HELLO + HELLO);
      expect(ours).toEqual(theirs);
    });

    test('a client that half-closes after its request still gets the whole response, then end of stream', async () => {
      const { ours, theirs } = await both(pair, send([get('/hello')], { halfClose: true }));
      expect(theirs.text).toBe(HELLO);
      expect(theirs.ending).toBe('eof');
      expect(ours).toEqual(theirs);
    });

    test('when the loop ends the server shuts down its sending side; the client can still write (KA-HALF-CLOSE)', async () => {
      const client = await RawClient.connect(pair.reference.endpoint);
      await client.write(getClosing('/hello'));
      expect(await client.waitFor(() => client.endedAs !== null)).toBe(true);
      expect(client.endedAs).toBe('eof');
      expect(client.received.toString('latin1')).toMatch(/\r\n\r\nhello$/);
      expect(client.socket.writable).toBe(true);
      await client.finish();
    });

    test.each([
      ['alone', '\r\n'],
      ['followed by a valid request', '\r\n' + getClosing('/hello')],
    ])('a blank line where a request line is due ends the connection without an answer, %s (KA-EMPTY-LINE)', async (_name, raw) => {
      const { ours, theirs } = await both(pair, send([raw]));
      expect(theirs).toEqual({ text: '', ending: 'eof', records: [] });
      expect(ours).toEqual(theirs);
    });

    test('HTTP/0.9 (`GET /path`): the body alone, then close (RL-HTTP09)', async () => {
      // http.server still reads a header block after an HTTP/0.9 request line: the blank line ends it.
      const { ours, theirs } = await both(pair, send(['GET /hello\r\n\r\n']));
      expect(theirs.text).toBe('hello');
      expect(theirs.records).toEqual([access('GET /hello', 200, 5)]);
      expect(ours).toEqual(theirs);
    });

    test('Expect: 100-continue gets 100 Continue before the final response (EXP-100-CONTINUE)', async () => {
      const { ours, theirs } = await both(pair, send([request('POST', '/read?all', 'Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n', 'hello')]));
      expect(theirs.text).toBe('HTTP/1.1 100 Continue\r\n\r\n' + HELLO);
      expect(ours).toEqual(theirs);
    });
  });

  describe('the environ', () => {
    const environOf = async (raw: string) => {
      const { ours, theirs } = await both(pair, send([raw]));
      expect(ours).toEqual(theirs);
      return theirs.text;
    };

    test('a target starting with // has its leading slashes cut to one (gh-87389); the query stays raw', async () => {
      const text = await environOf(getClosing('//environ//x?a=%20b'));
      expect(text).toContain(environLine('PATH_INFO', '/environ//x'));
      expect(text).toContain(environLine('QUERY_STRING', 'a=%2520b'));
    });

    test('PATH_INFO is percent-decoded as latin-1 (ENV-PATH-INFO)', async () => {
      const text = await environOf(getClosing('/environ/a%20b/%2F/caf\xc3\xa9/%e9%00'));
      expect(text).toContain(environLine('PATH_INFO', '/environ/a%20b///caf%C3%A9/%E9%00'));
    });

    test('headers with an underscore never reach the environ, Content_Length and Content_Type included (HDR-UNDERSCORE-STRIP)', async () => {
      const text = await environOf(getClosing('/environ').replace('\r\n\r\n', '\r\nX-Foo: a\r\nX_Foo: b\r\nContent_Length: 5\r\nContent_Type: evil/type\r\n\r\n'));
      expect(text).toContain(environLine('HTTP_X_FOO', 'a'));
      expect(text).toContain(environLine('CONTENT_LENGTH', ''));
      expect(text).toContain(environLine('CONTENT_TYPE', 'text/plain'));
      expect(text).not.toContain('evil');
    });

    test('repeated headers join with "," in order, values trimmed; Server-Port cannot override SERVER_PORT; CONTENT_TYPE defaults to text/plain', async () => {
      const text = await environOf(getClosing('/environ').replace('\r\n\r\n', '\r\nX-Rep: a\r\nServer-Port: 1\r\nX-Rep:   b \t\r\n\r\n'));
      expect(text).toContain(environLine('HTTP_X_REP', 'a,b'));
      expect(text).toContain(environLine('SERVER_PORT', '<port>'));
      expect(text).not.toContain('HTTP_SERVER_PORT');
      expect(text).toContain(environLine('CONTENT_TYPE', 'text/plain'));
    });

    test('an obs-fold continuation passes through raw; the CGI variables, REMOTE_ADDR and the wsgi.* keys are Django\'s', async () => {
      const text = await environOf(getClosing('/environ?q').replace('\r\n\r\n', '\r\nX-Fold: a\r\n  b\r\nContent-Type: x/y\r\nContent-Length: 0\r\n\r\n'));
      expect(text).toContain(environLine('HTTP_X_FOLD', 'a%0D%0A%20%20b'));
      for (const line of ['GATEWAY_INTERFACE: CGI/1.1', 'REMOTE_ADDR: 127.0.0.1', 'REMOTE_HOST: ', 'SCRIPT_NAME: ', 'SERVER_SOFTWARE: WSGIServer/0.2', 'wsgi.url_scheme: http', 'wsgi.version: 1.0']) {
        expect(text).toContain(`\n${line}\n`);
      }
      expect(text).toContain(environLine('CONTENT_TYPE', 'x/y'));
    });

    test("SERVER_NAME is Python's socket.getfqdn of the bind address (ENV-SERVER-NAME)", async () => {
      const oracle = PythonOracle.start();
      try {
        const fqdn = await oracle.one<string>('getfqdn', '127.0.0.1');
        expect(pair.reference.server.baseEnviron['SERVER_NAME']).toBe(fqdn);
        expect(await environOf(getClosing('/environ'))).toContain(environLine('SERVER_NAME', fqdn));
      } finally {
        await oracle.close();
      }
    });
  });

  describe('errors the server writes itself', () => {
    const REQUEST_LINE_LIMIT = 65536;
    /** A request line of exactly `length` bytes, CRLF included. */
    const requestLineOf = (length: number) => {
      const fixed = 'GET /hello? HTTP/1.1\r\n'.length;
      return `GET /hello?${'a'.repeat(length - fixed)} HTTP/1.1\r\n`;
    };
    const headerLineOf = (length: number) => `X-Long: ${'b'.repeat(length - 'X-Long: \r\n'.length)}\r\n`;
    const headerLines = (count: number) => Array.from({ length: count }, (_, i) => `X-H${i}: v\r\n`).join('');

    test.each<[string, string, { halfClose?: boolean }, (text: string) => void]>([
      ['a request line of 65536 bytes with its CRLF is served (URI-LIMIT-EXACT)', requestLineOf(REQUEST_LINE_LIMIT) + 'Connection: close\r\n\r\n', {}, (text) => expect(text).toBe(HELLO)],
      [
        'one byte more gets 414 with a status line, then close (URI-414)',
        requestLineOf(REQUEST_LINE_LIMIT + 1),
        { halfClose: true },
        (text) => expect(text).toBe(errorResponse(414, 'Request-URI Too Long', 'Request-URI Too Long', 'URI is too long')),
      ],
      ['a header line of 65536 bytes with its CRLF is served (HDR-LINE-LIMIT)', 'GET /hello HTTP/1.1\r\n' + headerLineOf(65536) + 'Connection: close\r\n\r\n', {}, (text) => expect(text).toBe(HELLO)],
      [
        'one byte more gets 431 "Line too long"',
        'GET /hello HTTP/1.1\r\n' + headerLineOf(65537),
        { halfClose: true },
        (text) => expect(text).toBe(errorResponse(431, 'Line too long', 'Line too long', 'got more than 65536 bytes when reading header line')),
      ],
      ['99 header lines are served (HDR-COUNT-LIMIT)', 'GET /hello HTTP/1.1\r\n' + headerLines(98) + 'Connection: close\r\n\r\n', {}, (text) => expect(text).toBe(HELLO)],
      [
        '100 get 431 "Too many headers"',
        'GET /hello HTTP/1.1\r\n' + headerLines(100) + '\r\n',
        {},
        (text) => expect(text).toBe(errorResponse(431, 'Too many headers', 'Too many headers', 'got more than 100 headers')),
      ],
      [
        'a server error answering HEAD has no body (ERR-HEAD-NO-BODY)',
        'HEAD /hello HTTP/1.1\r\n' + headerLines(100) + '\r\n',
        {},
        (text) => expect(text).toBe(errorResponse(431, 'Too many headers', 'Too many headers', 'got more than 100 headers').replace(/<!DOCTYPE[^]*$/, '')),
      ],
      ['a bad version token gets the bare page (RL-VERSION-SYNTAX)', 'GET / FOO/1.1\r\n', {}, (text) => expect(text).toBe(errorPage(400, "Bad request version ('FOO/1.1')", 'Bad request syntax or unsupported method'))],
      ['HTTP/1 is not a version', 'GET / HTTP/1\r\n', {}, (text) => expect(text).toContain("Bad request version ('HTTP/1')")],
      ['four words: the last is taken as the version (RL-WORD-COUNT)', 'GET / x HTTP/1.1\r\n', {}, (text) => expect(text).toContain("Bad request syntax ('GET / x HTTP/1.1')")],
      ['one word', 'GET\r\n', {}, (text) => expect(text).toContain("Bad request syntax ('GET')")],
      ['version 2.0 gets the bare 505 page (RL-VERSION-2)', 'GET / HTTP/2.0\r\n', {}, (text) => expect(text).toBe(errorPage(505, 'Invalid HTTP version (2.0)', 'Cannot fulfill request'))],
      ['two words with another method than GET (RL-HTTP09-METHOD)', 'POST /\r\n', {}, (text) => expect(text).toContain("Bad HTTP/0.9 request type ('POST')")],
      [
        'latin-1 white space (NBSP) splits words too, and the version token is shown as repr() shows it',
        'GET /\x01\x7f\xa0\xad\xe9 FOO/\t"\'\\\r\n',
        {},
        (text) => expect(text).toContain(`Bad request version ('"\\'\\\\')`),
      ],
    ])('%s', async (_name, raw, options, expectation) => {
      const { ours, theirs } = await both(pair, send([raw], options));
      expectation(theirs.text);
      expect(theirs.ending).toBe('eof');
      expect(ours).toEqual(theirs);
    });

    test('an error logs `code N, message …` at INFO, then the request line at the level of its status (LOG-ACCESS, LOG-LEVELS)', async () => {
      const { ours, theirs } = await both(pair, send(['GET / FOO/1.1\r\n']));
      expect(theirs.records).toEqual([info("code 400, message Bad request version ('FOO/1.1')"), warning('"GET / FOO/1.1" 400 -')]);
      expect(ours.records).toEqual(theirs.records);
    });

    test('a 414 logs `"" 414 -`, the request line being unknown', async () => {
      const { ours, theirs } = await both(pair, send([requestLineOf(REQUEST_LINE_LIMIT + 1)], { halfClose: true }));
      expect(theirs.records).toEqual([info('code 414, message Request-URI Too Long'), warning('"" 414 -')]);
      expect(ours.records).toEqual(theirs.records);
    });
  });

  describe('log levels', () => {
    test.each([
      [302, 'INFO'],
      [404, 'WARNING'],
      [500, 'ERROR'],
    ])('an application status %i logs its access line at %s', async (status, level) => {
      const { ours, theirs } = await both(pair, send([getClosing(`/status?${status}`)]));
      expect(theirs.records).toEqual([{ level, message: `"GET /status?${status} HTTP/1.1" ${status} 6` }]);
      expect(ours).toEqual(theirs);
    });

    /** A real ClientHello from Node's TLS client, as it arrives on a plain-HTTP port. */
    async function clientHello(): Promise<Buffer> {
      const { near, far } = await socketPair();
      const secure = tls.connect({ socket: near, servername: 'example.test' });
      secure.on('error', () => {});
      const hello = await new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        far.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          const record = Buffer.concat(chunks);
          if (record.length >= 5 && record.length >= 5 + record.readUInt16BE(3)) resolve(record);
        });
      });
      for (const socket of [secure, near, far]) socket.destroy();
      return hello;
    }

    test('a TLS ClientHello gets the bare 400 page and logs the HTTPS hint at ERROR, with no access line (TLS-CLIENTHELLO-400, TLS-LOG)', async () => {
      const hello = await clientHello();
      expect(hello.subarray(0, 2)).toEqual(Buffer.from([0x16, 0x03]));
      // The request line ends at the hello's first LF, if it has one, else at the client's half-close.
      const lf = hello.indexOf(0x0a);
      const script: Script = lf >= 0 ? send([hello.subarray(0, lf + 1)]) : send([hello], { halfClose: true });
      const { ours, theirs } = await both(pair, script);
      expect(theirs.text).toMatch(/^<!DOCTYPE HTML>[^]*Error code: 400/);
      expect(theirs.records).toEqual([
        { level: 'INFO', message: expect.stringMatching(/^code 400, message Bad (request version|request syntax|HTTP\/0\.9 request type) \(/) },
        { level: 'ERROR', message: "You're accessing the development server over HTTPS, but it only supports HTTP.\n" },
      ]);
      expect(ours).toEqual(theirs);
    });

    test('a client that resets while the connection waits for its next request logs `- Broken pipe from (…)` at INFO (LOG-LEVELS)', async () => {
      const { ours, theirs } = await both(pair, resetWhileIdle, { settled: brokenPipe });
      expect(theirs.records).toEqual([access('GET /hello HTTP/1.1', 200, 5), info("- Broken pipe from ('127.0.0.1', <port>)\n")]);
      expect(ours).toEqual(theirs);
    });

    test("the Broken pipe line names the client's own address and port", async () => {
      const client = await RawClient.connect(pair.reference.endpoint);
      const port = client.socket.localPort;
      const start = pair.reference.records.length;
      await resetWhileIdle(client);
      await waitUntil(() => brokenPipe(pair.reference.records.slice(start)));
      expect(pair.reference.records.slice(start)).toContainEqual(info(`- Broken pipe from ('127.0.0.1', ${port})\n`));
    });

    /** Half a request line and the reset in one go: the server finds both queued when it first reads. */
    const resetBehindPartialLine: Script = async (client) => {
      await client.write('GET /hel');
      client.reset();
    };

    test('Django: a reset queued behind half a request line surfaces on the read (recv gives the bytes, then ECONNRESET): Broken pipe', async () => {
      const theirs = await observe(pair.django, resetBehindPartialLine, { settled: brokenPipe });
      expect(theirs.records).toEqual([info("- Broken pipe from ('127.0.0.1', <port>)\n")]);
    });

    // Divergence (reported): Node reports the queued reset as a plain end of stream ('end', no 'error'), so the
    // reference serves `GET /hel` as HTTP/0.9, its write fails silently, and nothing is logged.
    test.fails('the reference: a reset queued behind half a request line logs Broken pipe', async () => {
      const ours = await observe(pair.reference, resetBehindPartialLine, { settled: brokenPipe, timeoutMs: 3_000 });
      expect(ours.records).toEqual([info("- Broken pipe from ('127.0.0.1', <port>)\n")]);
    });

    /**
     * The client reads one chunk of a response far larger than the socket buffers, stops reading, and hangs up:
     * the server is still writing when the reset arrives.
     */
    const resetMidResponse: Script = async (client) => {
      client.socket.once('data', () => client.socket.pause());
      await client.write(get('/big'));
      await client.waitFor((received) => received.length > 0);
      client.reset();
    };

    test('Django: a reset in the middle of a response is swallowed by wsgiref, and the next read sees end of stream: nothing is logged', async () => {
      const theirs = await observe(pair.django, resetMidResponse, { settled: brokenPipe, timeoutMs: 3_000 });
      expect(theirs.records).toEqual([]);
    });

    // The failed write consumes the reset (PendingSocketError), so the keep-alive loop's next read sees end of stream.
    test('the reference: a reset in the middle of a response logs nothing', async () => {
      const ours = await observe(pair.reference, resetMidResponse, { settled: brokenPipe, timeoutMs: 3_000 });
      expect(ours.records).toEqual([]);
    });
  });
});

describe('WSGIServer without threads (--nothreading) against Django 3.2', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({ threaded: false });
  }, PEER_START_MS);
  afterAll(() => stopPair(pair));

  test('every response carries Connection: close and the server closes after it (KA-SERIAL-CLOSE)', async () => {
    const { ours, theirs } = await both(pair, send([get('/hello') + get('/hello?never')]));
    expect(theirs.text).toBe(head('200 OK', 'Content-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n') + 'hello');
    expect(ours).toEqual(theirs);
  });

  /**
   * Client A sends half a request, client B a whole one, then A finishes. What B got before A finished, and the
   * order of the two access lines in the server's log, are the result: a threaded server answers B at once, a
   * serial one only after A.
   */
  async function whileFirstUnfinished(peer: ServingPeer, chanceMs: number): Promise<{ secondAnsweredEarly: boolean; logOrder: string[] }> {
    const first = await RawClient.connect(peer.endpoint);
    await first.write('GET /hello?first HTTP/1.1\r\nHost: t\r\n');
    const second = await RawClient.connect(peer.endpoint);
    await second.write(getClosing('/hello?second'));
    const secondAnsweredEarly = await second.waitFor(hasHello, chanceMs);
    await first.write('Connection: close\r\n\r\n');
    await Promise.all([first.finish(), second.finish()]);
    const accessLine = (name: string) => `"GET /hello?${name} HTTP/1.1" 200 5`;
    await waitUntil(() => ['first', 'second'].every((name) => peer.records.some((record) => record.message === accessLine(name))));
    const logOrder = peer.records.map((record) => ['first', 'second'].find((name) => record.message === accessLine(name))).filter((name) => name !== undefined);
    return { secondAnsweredEarly, logOrder };
  }

  test('a client that has not finished its request holds every other client until it does (KA-SERIAL-HOLD)', async () => {
    const held = { secondAnsweredEarly: false, logOrder: ['first', 'second'] };
    // A server that does not hold B gets half a second to show it: not a timing assertion, only a chance to fail.
    expect(await whileFirstUnfinished(pair.django, 500)).toEqual(held);
    expect(await whileFirstUnfinished(pair.reference, 500)).toEqual(held);
  });

  test('the threaded reference does not hold: the second client is answered first', async () => {
    const threaded = await startReferencePeer({ application: catalogueApplication, threaded: true });
    try {
      expect(await whileFirstUnfinished(threaded, WAIT_MS)).toEqual({ secondAnsweredEarly: true, logOrder: ['second', 'first'] });
    } finally {
      await threaded.stop();
    }
  });
});

describe('ServerLog formats', () => {
  async function servedWith(format: 'django' | 'json'): Promise<string[]> {
    const writes: string[] = [];
    const server = await WSGIServer.start({ host: '127.0.0.1', port: 0, threaded: true, application: catalogueApplication, log: new ServerLog((text) => writes.push(text), format) });
    try {
      await converse({ host: '127.0.0.1', port: server.port }, send([getClosing('/hello')]));
    } finally {
      await server.close();
    }
    return writes;
  }

  test('django: `[dd/Mon/yyyy hh:mm:ss] message`, one line per record', async () => {
    const writes = await servedWith('django');
    expect(writes).toContainEqual(expect.stringMatching(/^\[\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4} \d{2}:\d{2}:\d{2}\] "GET \/hello HTTP\/1\.1" 200 5\n$/));
  });

  test('json: one object per line with the time, the level, the logger and the message', async () => {
    const writes = await servedWith('json');
    const records = writes.map((line) => JSON.parse(line) as Record<string, string>);
    expect(records).toContainEqual({ time: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4} \d{2}:\d{2}:\d{2}$/), level: 'INFO', logger: 'django.server', message: '"GET /hello HTTP/1.1" 200 5' });
    expect(writes.every((line) => line.endsWith('}\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
  });
});

/** Whether this host can listen on ::1 at all. */
async function ipv6Unsupported(): Promise<string | null> {
  const probe = net.createServer();
  return new Promise((resolve) => {
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(`cannot listen on ::1 (${err.code})`));
    probe.listen(0, '::1', () => probe.close(() => resolve(null)));
  });
}
const noIpv6 = await ipv6Unsupported();

describe.skipIf(noIpv6 !== null)(`IPv6 on ::1 against Django 3.2${noIpv6 ? ` — skipped: ${noIpv6}` : ''}`, () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({ threaded: true, host: '::1' });
  }, PEER_START_MS);
  afterAll(() => stopPair(pair));

  test('the environ: REMOTE_ADDR ::1, SERVER_NAME from getfqdn', async () => {
    const { ours, theirs } = await both(pair, send([getClosing('/environ')]));
    expect(theirs.text).toContain(environLine('REMOTE_ADDR', '::1'));
    expect(ours).toEqual(theirs);
  });

  test('the Broken pipe line prints the 4-tuple of an IPv6 address', async () => {
    const { ours, theirs } = await both(pair, resetWhileIdle, { settled: brokenPipe });
    expect(theirs.records).toEqual([access('GET /hello HTTP/1.1', 200, 5), info("- Broken pipe from ('::1', <port>, 0, 0)\n")]);
    expect(ours).toEqual(theirs);
  });
});

describe('WSGIServer.close', () => {
  test('stops listening and ends open connections: idle keep-alive, half-sent request', async () => {
    const peer = await startReferencePeer({ application: catalogueApplication });
    const idle = await RawClient.connect(peer.endpoint);
    await idle.write(get('/hello'));
    expect(await idle.waitFor(hasHello)).toBe(true);
    const partial = await RawClient.connect(peer.endpoint);
    await partial.write('GET /hel');

    await peer.stop();

    expect(await idle.finish()).not.toBe('timeout');
    expect(await partial.finish()).not.toBe('timeout');
    await expect(RawClient.connect(peer.endpoint)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
