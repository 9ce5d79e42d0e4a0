import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  bareErrorPage,
  decide,
  defineCheck,
  fail,
  headerLineOfLength,
  Judgement,
  parseErrorPage,
  parseLogLine,
  pass,
  requestFor,
  requestLineOfLength,
  sameAddress,
} from '../conformance/catalogue/check-kit.ts';
import { requestWithHeaderLines } from '../conformance/catalogue/hdr.ts';
import { clientHelloWithLineFeed, clientHelloWithoutLineFeed, requestLineWords } from '../conformance/catalogue/tls-hello.ts';
import type { CheckContext } from '../conformance/catalogue/types.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { parseResponses } from '../conformance/wire/response-parser.ts';
import type { Conversation } from '../conformance/wire/types.ts';
import { startTinyServer } from './support/catalogue-targets.ts';

const started: RunningTarget[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((target) => target.stop()));
});

function contextFor(target: RunningTarget, timeoutMs = 2000): CheckContext {
  return { endpoint: target.endpoint, timeoutMs, mode: 'threaded', probe: false, log: null };
}

/** A conversation as the client would record it for these received bytes, ended by the server (FIN). */
function conversationOf(received: string): Conversation {
  const bytes = Buffer.from(received, 'utf8');
  return { sent: Buffer.alloc(0), received: bytes, responses: parseResponses(bytes, ['GET'], true).responses, close: 'eof', elapsedMs: 1 };
}

/** http.server's error page as CPython 3.11 writes it (send_error with DEFAULT_ERROR_MESSAGE). */
function errorPage(code: number, escapedMessage: string, explanation: string): string {
  return `<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        <p>Error code: ${code}</p>\n        <p>Message: ${escapedMessage}.</p>\n        <p>Error code explanation: ${code} - ${explanation}.</p>\n    </body>\n</html>\n`;
}

describe('request builders hit exact byte counts', () => {
  test.each([65536, 65537, 17])('a request line of %i bytes, CRLF included', (length) => {
    const line = requestLineOfLength('GET', 'HTTP/1.1', length);
    expect(Buffer.byteLength(line, 'latin1')).toBe(length);
    expect(line).toMatch(/^GET \/a* HTTP\/1\.1\r\n$/);
  });

  test.each([65536, 65537])('a header line of %i bytes, CRLF included', (length) => {
    const [name, value] = headerLineOfLength('X-Long', length);
    expect(Buffer.byteLength(`${name}: ${value}\r\n`, 'latin1')).toBe(length);
  });

  test('lengths too short for the fixed parts are refused', () => {
    expect(() => requestLineOfLength('GET', 'HTTP/1.1', 10)).toThrow(RangeError);
    expect(() => headerLineOfLength('X-Long', 5)).toThrow(RangeError);
  });

  test.each([99, 100])('a head of exactly %i header lines', (count) => {
    const head = requestWithHeaderLines({ host: '127.0.0.1', port: 8000 }, count).toString('latin1');
    const lines = head.split('\r\n');
    // request line, the header lines, the blank line, and the empty rest after the final CRLF
    expect(lines.length).toBe(count + 3);
    expect(lines.slice(1, count + 1).every((line) => /^[A-Za-z-]+[0-9-]*: /.test(line))).toBe(true);
  });

  test('requestFor puts Host first and Connection: close last unless told otherwise', () => {
    const ep = { host: '::1', port: 8000 };
    expect(requestFor(ep, '/x', { headers: [['A', 'b']] }).toString('latin1')).toBe('GET /x HTTP/1.1\r\nHost: [::1]:8000\r\nA: b\r\nConnection: close\r\n\r\n');
    expect(requestFor(ep, '/', { method: 'POST', close: false, host: 'h', body: 'xy' }).toString('latin1')).toBe('POST / HTTP/1.1\r\nHost: h\r\n\r\nxy');
  });
});

describe('reading what servers send', () => {
  test('the error page is read back, HTML-unescaped', () => {
    const page = parseErrorPage(Buffer.from(errorPage(400, "Bad request version ('&lt;x&gt;&amp;')", 'Bad request syntax or unsupported method')));
    expect(page).toEqual({ code: 400, message: "Bad request version ('<x>&')", explanation: 'Bad request syntax or unsupported method' });
    expect(parseErrorPage(Buffer.from('{"not":"a page"}'))).toBeNull();
  });

  test('a bare error page then FIN passes; the same page behind a status line fails', () => {
    const bare = errorPage(400, "Bad request version ('FOO/1.1')", 'x');
    expect(bareErrorPage(conversationOf(bare), 400, "Bad request version ('FOO/1.1')", 'case').verdict).toBe('pass');
    expect(bareErrorPage(conversationOf(bare), 400, /^Bad request syntax/, 'case').verdict).toBe('fail');
    expect(bareErrorPage(conversationOf(bare), 505, /./, 'case').verdict).toBe('fail');
    const withStatus = `HTTP/1.1 400 Bad\r\nContent-Length: ${Buffer.byteLength(bare)}\r\n\r\n${bare}`;
    expect(bareErrorPage(conversationOf(withStatus), 400, /^Bad request version/, 'case').verdict).toBe('fail');
  });

  test("log lines: Django's text, the reference's JSON, and raw text", () => {
    expect(parseLogLine('[24/Nov/2026 15:35:09] "GET / HTTP/1.1" 200 3761')).toMatchObject({ time: '24/Nov/2026 15:35:09', level: null, message: '"GET / HTTP/1.1" 200 3761' });
    expect(parseLogLine('{"time":"24/Nov/2026 15:35:09","level":"WARNING","logger":"django.server","message":"\\"GET / HTTP/1.1\\" 404 9"}')).toMatchObject({
      time: '24/Nov/2026 15:35:09',
      level: 'WARNING',
      message: '"GET / HTTP/1.1" 404 9',
    });
    expect(parseLogLine('Traceback (most recent call last):')).toMatchObject({ time: null, level: null, message: 'Traceback (most recent call last):' });
  });

  test('an IPv4 client may be reported IPv4-mapped', () => {
    expect(sameAddress('::ffff:127.0.0.1', '127.0.0.1')).toBe(true);
    expect(sameAddress('::1', '127.0.0.1')).toBe(false);
  });
});

describe('Judgement', () => {
  test('reports every part, fails when one fails, and names the alternative seen', () => {
    const judgement = new Judgement();
    judgement.equal('A', 'x', 'x');
    judgement.oneOf('B', '', [['', 'empty'], [undefined, 'absent']]);
    expect(judgement.outcome()).toEqual(pass('A "x"; B "" (empty)'));
    judgement.equal('C', 'y', 'z');
    expect(judgement.outcome()).toEqual(fail('C "y", expected "z"'));
  });
});

describe('defineCheck', () => {
  test('a wait that reaches the time limit is inconclusive (error), with the bytes as evidence', async () => {
    const silent = await startTinyServer('a server that never answers', () => {});
    started.push(silent);
    const check = defineCheck('anything', async (t) => {
      await t.exchange('GET /', requestFor(t.endpoint, '/'), { methods: ['GET'] });
      return pass('unreachable');
    });
    const result = await check(contextFor(silent, 300));
    expect(result.verdict).toBe('error');
    expect(result.actual).toMatch(/^inconclusive: GET \/: no decision within the time limit/);
    expect(result.evidence).toHaveLength(1);
    expect(result.evidence[0]!.sent.toString('latin1')).toMatch(/^GET \/ HTTP\/1\.1\r\n/);
  });

  test('decide() ends the check with its outcome; any other throw is an error; evidence is kept either way', async () => {
    const echo = await startTinyServer('a server that answers 204', (socket) => socket.once('data', () => socket.end('HTTP/1.1 204 No Content\r\n\r\n')));
    started.push(echo);
    const decided = defineCheck('a 204', async (t) => {
      const conversation = await t.exchange('GET /', requestFor(t.endpoint, '/'), { methods: ['GET'] });
      decide(fail(`saw ${conversation.responses[0]!.status}`));
    });
    const result = await decided(contextFor(echo));
    expect(result).toMatchObject({ verdict: 'fail', actual: 'saw 204', expected: 'a 204' });
    expect(result.evidence[0]!.received.toString('latin1')).toBe('HTTP/1.1 204 No Content\r\n\r\n');
    const broken = defineCheck('x', async () => {
      throw new Error('boom');
    });
    expect(await broken(contextFor(echo))).toMatchObject({ verdict: 'error', actual: 'the check could not run: boom' });
  });
});

describe('real ClientHellos', () => {
  test('one holds a LF byte, the other none; both are TLS handshake records whose line has three words or more', async () => {
    const withLf = await clientHelloWithLineFeed();
    const withoutLf = await clientHelloWithoutLineFeed();
    for (const hello of [withLf, withoutLf]) {
      expect([...hello.bytes.subarray(0, 2)]).toEqual([0x16, 0x03]);
      expect(hello.bytes[5]).toBe(0x01); // handshake type: client_hello
      expect(requestLineWords(hello.bytes).length).toBeGreaterThanOrEqual(3);
    }
    expect(withLf.bytes.includes(0x0a)).toBe(true);
    expect(withoutLf.bytes.includes(0x0a)).toBe(false);
    expect(await clientHelloWithLineFeed()).toBe(withLf);
  });

  test("requestLineWords splits as Python's str.split() does on the latin-1 line", () => {
    const samples = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 40 }), { numRuns: 300, seed: 20260 });
    const python = spawnSync(
      '/usr/bin/python3',
      ['-c', 'import sys, json\nfor line in sys.stdin:\n    b = bytes.fromhex(line.strip())\n    nl = b.find(b"\\n")\n    b = b if nl < 0 else b[:nl + 1]\n    print(json.dumps(str(b, "latin-1").split()))'],
      { input: samples.map((bytes) => Buffer.from(bytes).toString('hex')).join('\n') + '\n', encoding: 'utf8' },
    );
    expect(python.status).toBe(0);
    const expected = python.stdout.trim().split('\n').map((line) => JSON.parse(line) as string[]);
    expect(samples.map((bytes) => requestLineWords(Buffer.from(bytes)))).toEqual(expected);
  });
});
