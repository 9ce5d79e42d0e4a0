/**
 * The fuzzing model (conformance/fuzz/model.ts) on the behaviours SPEC pins down, byte for byte, and the arbitraries
 * on the shapes they promise. No network: the wire side is test/fuzz-campaign.test.ts.
 */
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { limitCase, requestBatchCase, pipelineCase, malformedCase, type LimitShape } from '../conformance/fuzz/arbitraries.ts';
import { caseBytes, cutPoints, segmentsOf, type WireCase } from '../conformance/fuzz/cases.ts';
import { minimize } from '../conformance/fuzz/minimize.ts';
import { simulate, type AppStep, type ErrorStep, type ModelRun } from '../conformance/fuzz/model.ts';
import { pyInt, pyRepr, pySplit } from '../conformance/fuzz/pystr.ts';
import { caseSeed } from '../conformance/fuzz/engine.ts';
import { parseShard, pickWeighted, shardIndices, shardSize } from '../conformance/fuzz/shard.ts';

const run = (text: string, options: { threaded?: boolean; eof?: boolean } = {}): ModelRun =>
  simulate(Buffer.from(text, 'latin1'), { threaded: options.threaded ?? true, eof: options.eof ?? false });
const app = (r: ModelRun, i = 0): AppStep => r.steps[i] as AppStep;
const error = (r: ModelRun, i = 0): ErrorStep => r.steps[i] as ErrorStep;

describe('Python string semantics', () => {
  test('split() splits on every latin-1 whitespace Python knows, \\x85 and \\xa0 included', () => {
    expect(pySplit('GET\x85/\xa0HTTP/1.1\x1c x')).toEqual(['GET', '/', 'HTTP/1.1', 'x']);
  });
  test('int() takes signs, surrounding spaces and single underscores, nothing else', () => {
    expect([pyInt(' 5 '), pyInt('+5'), pyInt('-2'), pyInt('1_0'), pyInt('1__0'), pyInt('0x5'), pyInt(''), pyInt('abc')]).toEqual([5, 5, -2, 10, null, null, null, null]);
  });
  test("repr() quotes as Python does and escapes what is not printable", () => {
    expect(pyRepr("a'b")).toBe(`"a'b"`);
    expect(pyRepr('\x16\x03\xa0\xe9\\')).toBe("'\\x16\\x03\\xa0é\\\\'");
  });
});

describe('the model of a django-profile server', () => {
  test('ENV-PATH-INFO, ENV-QUERY-STRING: percent-decoded latin-1 path, raw query, // cut to one slash', () => {
    const step = app(run('GET //a%20b/%2F%zz?x=%41 HTTP/1.1\r\n\r\n'));
    expect(step.environ).toMatchObject({ PATH_INFO: '/a b//%zz', QUERY_STRING: 'x=%41', SERVER_PROTOCOL: 'HTTP/1.1', REQUEST_METHOD: 'GET' });
  });

  test('HDR-UNDERSCORE-STRIP and ENV-HTTP-VARS: X_Foo beside X-Foo leaves X-Foo alone; repeats join with commas; values trimmed', () => {
    const step = app(run('GET / HTTP/1.1\r\nX_Foo: b\r\nX-Foo: a\r\nX-A:  1 \r\nx-a: 2\r\nContent_Length: 9\r\n\r\n'));
    expect(step.environ['HTTP_X_FOO']).toBe('a');
    expect(step.environ['HTTP_X_A']).toBe('1,2');
    expect(step.environ['CONTENT_LENGTH']).toBe('');
    expect(step.underscoreKeys).toEqual(['HTTP_X_FOO', 'CONTENT_LENGTH']);
  });

  test('ENV-CONTENT-LENGTH, ENV-CONTENT-TYPE: as sent (even abc), text/plain when absent; a header spelling a CGI key is skipped', () => {
    const step = app(run('POST / HTTP/1.1\r\nContent-Length: abc\r\nServer-Port: 1\r\n\r\n'));
    expect(step.environ).toMatchObject({ CONTENT_LENGTH: 'abc', CONTENT_TYPE: 'text/plain' });
    expect(step.environ['HTTP_SERVER_PORT']).toBeUndefined();
    expect(run('GET / HTTP/1.1\r\n\r\n').end).toBe('open');
  });

  test('KA-UNREAD-BODY: bytes past the Content-Length are the next request (EXTRAGET)', () => {
    const r = run('POST / HTTP/1.1\r\nContent-Length: 5\r\nX-Probe-Action: read:0\r\n\r\nhelloEXTRAGET /after HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(app(r, 0).bodyRead.length).toBe(0);
    expect(app(r, 1).environ['REQUEST_METHOD']).toBe('EXTRAGET');
    expect(app(r, 1).after).toBe('KA-UNREAD-BODY');
    expect(r.end).toBe('close');
  });

  test('KA-CHUNKED-IGNORED: the chunk bytes are read as the next request, a bare 400', () => {
    const r = run('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(app(r).environ['CONTENT_LENGTH']).toBe('');
    expect(error(r, 1)).toMatchObject({ status: 400, bare: true, after: 'KA-CHUNKED-IGNORED', message: "Bad request syntax ('5')" });
  });

  test('RL-WORD-COUNT: more than three words with a valid last version gets a status line (real Django; SPEC said bare)', () => {
    expect(error(run('GET / x HTTP/1.1\r\n\r\n'))).toMatchObject({ status: 400, bare: false, message: "Bad request syntax ('GET / x HTTP/1.1')" });
    expect(error(run('GET\r\n\r\n'))).toMatchObject({ status: 400, bare: true });
  });

  test('RL-VERSION-SYNTAX, RL-VERSION-2, RL-HTTP09-METHOD, TLS-CLIENTHELLO-400: bare error pages', () => {
    expect(error(run('GET / HTTP/1\r\n'))).toMatchObject({ status: 400, bare: true, id: 'RL-VERSION-SYNTAX' });
    expect(error(run('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))).toMatchObject({ status: 505, bare: true, message: 'Invalid HTTP version (2.0)' });
    expect(error(run('POST /x\r\n'))).toMatchObject({ status: 400, bare: true, id: 'RL-HTTP09-METHOD' });
    expect(error(run('\x16\x03\x01 a b\n'))).toMatchObject({ status: 400, id: 'TLS-CLIENTHELLO-400' });
  });

  test('a TLS hello with no LF waits for more bytes, and is answered once the client half-closes', () => {
    expect(run('\x16\x03\x01\x02\x00 a b').end).toBe('blocked');
    expect(run('\x16\x03\x01\x02\x00 a b', { eof: true }).steps).toHaveLength(1);
  });

  test('KA-EMPTY-LINE: a blank line where a request is due closes with no answer, even before a valid request', () => {
    const r = run('\r\nGET / HTTP/1.1\r\n\r\n');
    expect(r).toMatchObject({ steps: [], end: 'close', endId: 'KA-EMPTY-LINE' });
  });

  test('RL-HTTP09: the application body alone, then the close; Connection: keep-alive keeps it open', () => {
    expect(app(run('GET /x\r\n\r\n'))).toMatchObject({ bare: true, closeAfter: true, closeId: 'RL-HTTP09' });
    expect(app(run('GET /x\r\nConnection: keep-alive\r\n\r\n'))).toMatchObject({ bare: true, closeAfter: false });
  });

  test('KA-HTTP10-CLOSE, KA-HTTP10-KEEPALIVE, KA-CONNECTION-CLOSE: only the exact lower-cased value counts', () => {
    expect(app(run('GET / HTTP/1.0\r\n\r\n')).closeId).toBe('KA-HTTP10-CLOSE');
    expect(run('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').end).toBe('open');
    expect(run('GET / HTTP/1.1\r\nConnection: close, foo\r\n\r\n').end).toBe('open');
    expect(run('GET / HTTP/1.1\r\nConnection: close \r\n\r\n').end).toBe('open');
    expect(app(run('GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\nGET / HTTP/1.1\r\n\r\n')).closeId).toBe('KA-CONNECTION-CLOSE');
  });

  test('KA-SERIAL-CLOSE and KA-NO-LENGTH-CLOSE: Connection: close on the response, then the close', () => {
    expect(app(run('GET / HTTP/1.1\r\n\r\n', { threaded: false }))).toMatchObject({ connectionClose: true, closeAfter: true, closeId: 'KA-SERIAL-CLOSE' });
    expect(app(run('GET / HTTP/1.1\r\nX-Probe-Action: no-length\r\n\r\n'))).toMatchObject({ hasLength: false, connectionClose: true, closeId: 'KA-NO-LENGTH-CLOSE' });
  });

  test('ERR-APP-EXCEPTION: raise wins over raise-after-headers and keeps the connection; a Content-Length below -1 makes reading raise', () => {
    expect(app(run('GET / HTTP/1.1\r\nX-Probe-Action: raise,raise-after-headers\r\n\r\n'))).toMatchObject({ status: 500, failure: 'before', closeAfter: false });
    const negative = run('GET / HTTP/1.1\r\nX-Probe-Action: read:0\r\nContent-Length: -2\r\n\r\nGET / HTTP/1.1\r\n\r\n');
    expect(app(negative)).toMatchObject({ status: 500, failure: 'before', closeAfter: true });
    expect(negative.steps).toHaveLength(1);
  });

  test('EXP-100-CONTINUE: compared as strings, so HTTP/01.1 gets none', () => {
    expect(app(run('GET / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n')).interim100).toBe(true);
    expect(app(run('GET / HTTP/01.1\r\nExpect: 100-continue\r\n\r\n')).interim100).toBe(false);
    expect(app(run('GET / HTTP/1.1\r\nExpect: 100-continue \r\n\r\n')).interim100).toBe(false);
  });

  test('URI-414/URI-LIMIT-EXACT, HDR-LINE-LIMIT, HDR-COUNT-LIMIT: exact boundaries, a 431 to HEAD without a page', () => {
    const at = (shape: LimitShape): ModelRun => simulate(caseBytes(limitCase(shape)), { threaded: true, eof: false });
    for (const limit of ['request-line', 'header-line', 'header-count'] as const) {
      expect(at({ limit, offset: 0, method: 'GET', follow: false }).steps[0]!.kind).toBe('app');
      const refused = at({ limit, offset: 1, method: 'HEAD', follow: true });
      expect(refused.steps).toHaveLength(1);
      expect(refused.steps[0]).toMatchObject({ kind: 'error', status: limit === 'request-line' ? 414 : 431, head: limit !== 'request-line', bare: false });
    }
  });
});

describe('arbitraries and shards', () => {
  fcTest.prop([fc.constantFrom<LimitShape['limit']>('request-line', 'header-line', 'header-count'), fc.integer({ min: -2, max: 3 })])(
    'a limit case sits exactly where it says',
    (limit, offset) => {
      const bytes = caseBytes(limitCase({ limit, offset, method: 'GET', follow: false }));
      const lines = bytes.toString('latin1').split(/(?<=\r\n)/);
      if (limit === 'request-line') expect(lines[0]!.length).toBe(65536 + offset);
      else if (limit === 'header-line') expect(lines[1]!.length).toBe(65536 + offset);
      else expect(lines.length - 2).toBe(99 + offset);
    },
  );

  fcTest.prop([requestBatchCase('django')], { numRuns: 200 })('every request of an environ batch but none of its framing is lost: one answer each', (wireCase) => {
    const r = simulate(caseBytes(wireCase), { threaded: true, eof: true });
    expect(r.steps.length).toBeGreaterThanOrEqual(wireCase.parts.length);
  });

  fcTest.prop([fc.oneof(pipelineCase('django'), malformedCase), fc.boolean()], { numRuns: 200 })('the model always ends: closed, open, or waiting only without the end of input', (wireCase, eof) => {
    const r = simulate(caseBytes(wireCase), { threaded: true, eof });
    expect(eof ? ['close'] : ['close', 'open', 'blocked']).toContain(r.end);
  });

  fcTest.prop([fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 4 })])('split into writes, the bytes are the same bytes', (bytes, splits) => {
    const buffer = Buffer.from(bytes);
    expect(Buffer.concat(segmentsOf(buffer, splits).map((s) => s.bytes))).toEqual(buffer);
    expect(cutPoints(splits, buffer.length).every((at) => at > 0 && at < buffer.length)).toBe(true);
  });

  test('shard I/N runs the indices congruent to I-1; the shards of a campaign partition it', () => {
    const runs = 23;
    const all = [1, 2, 3].flatMap((index) => [...shardIndices({ index, count: 3 }, runs)]);
    expect(all.sort((a, b) => a - b)).toEqual([...Array(runs).keys()]);
    expect([1, 2, 3].map((index) => shardSize({ index, count: 3 }, runs))).toEqual([8, 8, 7]);
    expect(() => parseShard('0/2')).toThrow();
    expect(() => parseShard('3/2')).toThrow();
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
  });

  test('case seeds and property picks depend on the campaign seed and the index alone, and spread', () => {
    expect(caseSeed(7, 3)).toBe(caseSeed(7, 3));
    expect(new Set(Array.from({ length: 1000 }, (_, i) => caseSeed(7, i))).size).toBe(1000);
    const choices = [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }];
    const picks = Array.from({ length: 4000 }, (_, i) => pickWeighted(choices, 7, i).name);
    expect(picks.filter((p) => p === 'b').length).toBeGreaterThan(800);
    expect(picks.filter((p) => p === 'b').length).toBeLessThan(1200);
  });

  test('minimize keeps only what the failure needs', async () => {
    const start: WireCase = { parts: [{ request: { method: 'PUT', target: '/x/y', version: 'HTTP/1.0', headers: [['X-A', 'v'], ['Xy_z', 'w']] as Array<[string, string]>, body: 'b' } }, { raw: 'junk' }], splits: [3] };
    const stillFails = async (c: WireCase): Promise<boolean> => c.parts.some((p) => 'request' in p && p.request.headers.some(([n]) => n.includes('_')));
    const { wireCase } = await minimize(start, stillFails, 500);
    expect(caseBytes(wireCase).toString('latin1')).toBe('GET / HTTP/1.1\r\n_: \r\n\r\n');
  });
});
