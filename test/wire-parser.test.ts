import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { MAX_HEAD_BYTES, parseResponses, ResponseStream } from '../conformance/wire/response-parser.ts';
import type { ParsedResponse } from '../conformance/wire/types.ts';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const parseAll = (text: string | Buffer, methods: readonly string[] = [], ended = true) =>
  parseResponses(typeof text === 'string' ? bytes(text) : text, methods, ended);
const only = (text: string | Buffer, methods: readonly string[] = [], ended = true): ParsedResponse => {
  const { responses } = parseAll(text, methods, ended);
  expect(responses).toHaveLength(1);
  return responses[0]!;
};

describe('Content-Length framing', () => {
  test('frames the body and leaves the next response for the next parse', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
    const { responses, consumed } = parseAll(text, [], false);
    expect(responses.map((r) => [r.status, r.reason, r.body.toString(), r.framing, r.complete])).toEqual([
      [200, 'OK', 'hello', 'content-length', true],
      [404, 'Not Found', '', 'content-length', true],
    ]);
    expect(responses[0]!.headers).toEqual([['Content-Length', '5']]);
    expect(responses[0]!.version).toBe('HTTP/1.1');
    expect(responses[0]!.lineEnds).toBe('crlf');
    expect(consumed).toBe(text.length);
  });

  test('accepts several equal values, as separate fields or a list', () => {
    const response = only('HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3, 003\r\n\r\nabc', [], false);
    expect(response.framing).toBe('content-length');
    expect(response.framingError).toBeUndefined();
    expect(response.body.toString()).toBe('abc');
    // What follows the body is a response of its own (here a bare one).
    expect(parseAll('HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabcdef').responses.map((r) => r.kind)).toEqual(['status', 'bare']);
  });

  test.each([
    ['conflicting values', 'Content-Length: 3\r\nContent-Length: 4', /conflicting Content-Length values: 3, 4/],
    ['a non-number', 'Content-Length: abc', /invalid Content-Length: abc/],
    ['a signed number', 'Content-Length: +3', /invalid Content-Length/],
    ['an empty list element', 'Content-Length: 3,', /invalid Content-Length/],
    ['an unsafe integer', 'Content-Length: 99999999999999999999', /too large/],
  ])('%s marks the framing invalid and reads to the end of the connection', (_, field, error) => {
    const text = `HTTP/1.1 200 OK\r\n${field}\r\n\r\nabcdef`;
    const open = only(text, [], false);
    expect(open).toMatchObject({ framing: 'close', complete: false });
    expect(open.framingError).toMatch(error);
    const ended = only(text, [], true);
    expect(ended).toMatchObject({ framing: 'close', complete: true });
    expect(ended.body.toString()).toBe('abcdef');
    expect(ended.framingError).toMatch(error);
  });

  test('a body cut short by the end of the stream is incomplete, with what arrived', () => {
    const response = only('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello');
    expect(response).toMatchObject({ framing: 'content-length', complete: false });
    expect(response.body.toString()).toBe('hello');
  });
});

describe('chunked framing', () => {
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

  test('decodes chunks, keeping extensions and trailers', () => {
    const text = `${chunked}5;name=value\r\nhello\r\nA ; x\r\n0123456789\r\n0\r\nX-Trailer: yes\r\nX-Other:  2 \r\n\r\n`;
    const response = only(text, [], false);
    expect(response.framing).toBe('chunked');
    expect(response.complete).toBe(true);
    expect(response.body.toString()).toBe('hello0123456789');
    expect(response.chunks).toEqual([
      { size: 5, extensions: ';name=value' },
      { size: 10, extensions: ' ; x' },
      { size: 0, extensions: '' },
    ]);
    expect(response.trailers).toEqual([
      ['X-Trailer', 'yes'],
      ['X-Other', '2'],
    ]);
    expect(response.raw.toString('latin1')).toBe(text);
  });

  test('Transfer-Encoding wins over Content-Length, and codings are matched case-insensitively', () => {
    const response = only('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n', [], false);
    expect(response).toMatchObject({ framing: 'chunked', complete: true });
    expect(response.body.toString()).toBe('abc');
  });

  test('a Transfer-Encoding that does not end in chunked is read to the end of the connection', () => {
    const response = only('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 1\r\n\r\nxyz');
    expect(response).toMatchObject({ framing: 'close', complete: true });
    expect(response.body.toString()).toBe('xyz');
  });

  test('tolerates bare LF line ends and reports them', () => {
    const response = only('HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n', [], false);
    expect(response).toMatchObject({ complete: true, lineEnds: 'lf' });
    expect(response.body.toString()).toBe('ab');
    expect(only('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\n\r\n2\r\nab\n0\r\n\r\n', [], false).lineEnds).toBe('mixed');
  });

  test.each([
    ['an invalid chunk size', `${chunked}3\r\nabc\r\nzz\r\nmore`, /invalid chunk-size line: "zz"/, 'abc'],
    ['a huge chunk size', `${chunked}fffffffffffffffff\r\n`, /chunk size too large/, ''],
    ['chunk data longer than its size', `${chunked}3\r\nabcd\r\n0\r\n\r\n`, /not followed by CRLF/, 'abc'],
  ])('%s is a framing error: decoded data kept, the rest of the stream swallowed, never complete', (_, text, error, body) => {
    const response = only(`${text}HTTP/1.1 200 OK\r\n\r\n`);
    expect(response).toMatchObject({ framing: 'chunked', complete: false });
    expect(response.framingError).toMatch(error);
    expect(response.body.toString()).toBe(body);
    expect(response.raw.toString('latin1')).toBe(`${text}HTTP/1.1 200 OK\r\n\r\n`);
  });

  test.each([
    ['mid-size-line', `${chunked}5`, ''],
    ['mid-data', `${chunked}5\r\nhel`, 'hel'],
    ['after the data', `${chunked}5\r\nhello\r`, 'hello'],
    ['mid-trailers', `${chunked}5\r\nhello\r\n0\r\nX-T: 1\r\n`, 'hello'],
  ])('a stream ending %s leaves the response incomplete', (_, text, body) => {
    const response = only(text);
    expect(response).toMatchObject({ framing: 'chunked', complete: false });
    expect(response.body.toString()).toBe(body);
    expect(response.framingError).toBeUndefined();
  });
});

describe('responses without a body', () => {
  test('a response to HEAD has none, whatever its Content-Length or Transfer-Encoding says', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const { responses } = parseAll(text, ['HEAD', 'HEAD', 'GET'], false);
    expect(responses.map((r) => [r.framing, r.body.toString(), r.complete])).toEqual([
      ['none', '', true],
      ['none', '', true],
      ['content-length', 'ok', true],
    ]);
  });

  test.each([204, 304])('%i has none', (status) => {
    const { responses } = parseAll(`HTTP/1.1 ${status} X\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n`, [], false);
    expect(responses.map((r) => [r.status, r.framing, r.body.length])).toEqual([
      [status, 'none', 0],
      [200, 'content-length', 0],
    ]);
  });

  test('a 2xx answer to CONNECT has none', () => {
    expect(only('HTTP/1.1 200 Connection established\r\n\r\n', ['CONNECT'], false)).toMatchObject({ framing: 'none', complete: true });
  });

  test('an unknown method counts as GET: the body is read', () => {
    expect(only('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', [], false).body.toString()).toBe('ok');
  });
});

describe('interim responses', () => {
  test('1xx responses are collected into the final response that follows', () => {
    const interim = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n';
    const final = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const response = only(interim + final, ['POST'], false);
    expect(response.status).toBe(200);
    expect(response.interim.map((r) => [r.status, r.reason, r.headers, r.framing, r.complete])).toEqual([
      [100, 'Continue', [], 'none', true],
      [103, 'Early Hints', [['Link', '</a>']], 'none', true],
    ]);
    expect(response.interim[1]!.raw.toString('latin1')).toBe('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n');
    expect(response.raw.toString('latin1')).toBe(interim + final);
  });

  test('an interim response alone stays provisional, and a stream that ends after it has an incomplete final response', () => {
    const open = parseAll('HTTP/1.1 100 Continue\r\n\r\n', ['POST'], false);
    expect(open.consumed).toBe(0);
    expect(open.responses).toHaveLength(1);
    expect(open.responses[0]).toMatchObject({ status: 0, complete: false });
    expect(open.responses[0]!.interim.map((r) => r.status)).toEqual([100]);
    expect(only('HTTP/1.1 100 Continue\r\n\r\n')).toMatchObject({ status: 0, complete: false });
  });

  test('101 Switching Protocols is final: the rest of the connection is the new protocol', () => {
    const response = only('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nHTTP/1.1 200 OK\r\n\r\n');
    expect(response).toMatchObject({ status: 101, framing: 'close', complete: true });
    expect(response.body.toString()).toBe('HTTP/1.1 200 OK\r\n\r\n');
  });
});

describe('close-delimited and bare responses', () => {
  test('a response without framing runs to the end of the connection', () => {
    const text = 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, part two';
    expect(only(text, [], false)).toMatchObject({ framing: 'close', complete: false });
    const ended = only(text, [], true);
    expect(ended).toMatchObject({ framing: 'close', complete: true, version: 'HTTP/1.0' });
    expect(ended.body.toString()).toBe('part one, part two');
  });

  test("bytes that do not start with HTTP/ are a bare response (Django's error page without a status line)", () => {
    const page = '<!DOCTYPE HTML>\n<html><body><p>Error code: 400</p></body></html>\n';
    const response = only(page);
    expect(response).toMatchObject({ kind: 'bare', status: 0, version: '', framing: 'close', complete: true, headers: [] });
    expect(response.body.toString()).toBe(page);
    expect(response.lineEnds).toBeUndefined();
  });

  test('a bare response can follow a complete one', () => {
    const { responses } = parseAll('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx<html>400</html>');
    expect(responses.map((r) => [r.kind, r.body.toString(), r.complete])).toEqual([
      ['status', 'x', true],
      ['bare', '<html>400</html>', true],
    ]);
  });

  test('waits for five bytes (or the end) before deciding, but decides as soon as a byte differs', () => {
    expect(parseAll('HTTP', [], false).consumed).toBe(0);
    expect(only('HTTP', [], false)).toMatchObject({ kind: 'status', complete: false });
    expect(only('HTTP', [], true)).toMatchObject({ kind: 'bare', complete: true });
    expect(only('HTX', [], false)).toMatchObject({ kind: 'bare', complete: false });
    expect(only('http/1.1 200 OK\r\n\r\n', [], true).kind).toBe('bare');
  });
});

describe('heads', () => {
  test('keeps names as sent, trims values, joins obs-fold and keeps a line without a colon', () => {
    const response = only('HTTP/1.1 200 OK\r\nX-A:  one \r\n  two\r\n\tthree\r\nno colon here\r\nX-Empty:\r\n\r\n', ['HEAD']);
    expect(response.headers).toEqual([
      ['X-A', 'one two three'],
      ['no colon here', ''],
      ['X-Empty', ''],
    ]);
  });

  test('a status line without a reason, or with an empty one, is valid', () => {
    expect(only('HTTP/1.1 204\r\n\r\n', [], false)).toMatchObject({ status: 204, reason: '' });
    expect(only('HTTP/1.1 204 \r\n\r\n', [], false)).toMatchObject({ status: 204, reason: '' });
  });

  test.each(['HTTP/1.1 2000 OK', 'HTTP/1.1  200 OK', 'HTTP/1.1', 'HTTP/1.1 abc'])('%j is a malformed status line', (statusLine) => {
    const response = only(`${statusLine}\r\nContent-Length: 1\r\n\r\nabc`);
    expect(response).toMatchObject({ kind: 'status', status: 0, framing: 'close', framingError: 'malformed status line' });
    expect(response.body.toString()).toBe('abc');
  });

  test('a head cut short reports the lines that arrived whole', () => {
    const response = only('HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: par');
    expect(response).toMatchObject({ status: 200, complete: false, headers: [['X-A', '1']] });
    expect(response.raw.toString('latin1')).toBe('HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: par');
  });

  test('a head of exactly the cap is parsed; one byte more is not', () => {
    const headOfSize = (size: number) => {
      const start = 'HTTP/1.1 200 OK\r\nX-Pad: ';
      const end = '\r\nContent-Length: 0\r\n\r\n';
      return start + 'p'.repeat(size - start.length - end.length) + end;
    };
    const atCap = only(headOfSize(MAX_HEAD_BYTES), [], false);
    expect(atCap).toMatchObject({ complete: true, framing: 'content-length' });
    expect(atCap.headers[0]![1]).toHaveLength(MAX_HEAD_BYTES - 47);
    const over = only(headOfSize(MAX_HEAD_BYTES + 1), [], true);
    expect(over).toMatchObject({ complete: false, status: 200, framing: 'close' });
    expect(over.framingError).toMatch(/head longer than 1048576 bytes/);
  });

  test('a 10 MB header is cut off at the cap without throwing, and the rest of the stream kept in raw', () => {
    const data = Buffer.concat([bytes('HTTP/1.1 200 OK\r\nX-Big: '), Buffer.alloc(10 * 1024 * 1024, 0x61), bytes('\r\n\r\nHTTP/1.1 200 OK\r\n\r\n')]);
    const { responses, consumed } = parseResponses(data, ['GET', 'GET'], true);
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ complete: false, status: 200, headers: [] });
    expect(responses[0]!.framingError).toMatch(/head longer/);
    expect(responses[0]!.raw.equals(data)).toBe(true);
    expect(consumed).toBe(data.length);
  });

  test('NUL bytes and stray CRs pass through as latin-1 text', () => {
    const response = only('HTTP/1.1 200 O\x00K\r\nX-N\x00ul: a\rb\xff\r\nContent-Length: 1\r\n\r\n\x00', [], false);
    expect(response).toMatchObject({ reason: 'O\x00K', headers: [['X-N\x00ul', 'a\rb\xff'], ['Content-Length', '1']], complete: true });
    expect(response.body).toEqual(Buffer.from([0]));
  });
});

describe('ResponseStream', () => {
  test('parses lazily with methods registered after the bytes arrived', () => {
    const methods: string[] = [];
    const stream = new ResponseStream(methods);
    stream.append(bytes('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n'));
    methods.push('HEAD');
    stream.append(bytes('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'));
    methods.push('GET');
    expect(stream.settledCount()).toBe(2);
    expect(stream.settledResponses(0, 2).map((r) => r.body.toString())).toEqual(['', 'abc']);
  });

  test('a reset ends a close-delimited response without completing it', () => {
    const stream = new ResponseStream([]);
    stream.append(bytes('HTTP/1.0 200 OK\r\n\r\nbody'));
    stream.end(false);
    expect(stream.snapshot().responses[0]).toMatchObject({ framing: 'close', complete: false });
  });

  test('a large body arriving in many pieces is parsed once, in order', () => {
    const body = Buffer.alloc(4 * 1024 * 1024, 0x62);
    const stream = new ResponseStream(['GET']);
    stream.append(bytes(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`));
    for (let offset = 0; offset < body.length; offset += 65536) {
      stream.append(body.subarray(offset, offset + 65536));
      expect(stream.settledCount()).toBe(offset + 65536 >= body.length ? 1 : 0);
    }
    expect(stream.settledResponses(0, 1)[0]!.body.equals(body)).toBe(true);
  });
});

// ---- properties ----

interface GeneratedResponse {
  bytes: Buffer;
  method: string;
  /** What the parser must report for it. */
  expected: { status: number; reason: string; headers: Array<[string, string]>; body: Buffer; interim: number[] };
}

const eol = fc.constantFrom('\r\n', '\n');
const fieldName = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,8}$/)
  .filter((name) => !['content-length', 'transfer-encoding'].includes(name.toLowerCase()));
const fieldValue = fc.stringMatching(/^([!-~]([ -~]{0,12}[!-~])?)?$/);
const fields = fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 4 });
const reason = fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,10}$/);
const body = fc.uint8Array({ maxLength: 120 }).map((array) => Buffer.from(array));

function head(status: number, reasonText: string, headers: Array<[string, string]>, lineEnd: string): string {
  return `HTTP/1.1 ${status} ${reasonText}${lineEnd}${headers.map(([n, v]) => `${n}: ${v}${lineEnd}`).join('')}${lineEnd}`;
}

const interimPart = fc.record({ status: fc.constantFrom(100, 102, 103), reason, headers: fields, lineEnd: eol });

/** A response framed by Content-Length, by chunks, or carrying no body (HEAD, 204, 304), possibly after 1xx responses. */
const framedResponse: fc.Arbitrary<GeneratedResponse> = fc
  .record({
    interim: fc.array(interimPart, { maxLength: 2 }),
    status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
    reason,
    headers: fields,
    lineEnd: eol,
    body,
    framing: fc.constantFrom('length', 'chunked', 'head', 'no-content'),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    extension: fc.constantFrom('', ';a=b', ' ; q="x y"'),
    upperHex: fc.boolean(),
    trailers: fields,
  })
  .map((spec) => {
    const prefix = spec.interim.map((i) => head(i.status, i.reason, i.headers, i.lineEnd)).join('');
    const noContent = spec.framing === 'no-content' ? (spec.status % 2 === 0 ? 204 : 304) : spec.status;
    let headers = spec.headers;
    let payload = Buffer.alloc(0);
    let method = 'GET';
    if (spec.framing === 'length') {
      headers = [...headers, ['Content-Length', String(spec.body.length)]];
      payload = spec.body;
    } else if (spec.framing === 'head') {
      headers = [...headers, ['Content-Length', String(spec.body.length + 7)]];
      method = 'HEAD';
    } else if (spec.framing === 'chunked') {
      headers = [...headers, ['Transfer-Encoding', 'chunked']];
      const cuts = [...new Set(spec.cuts.map((c) => c % (spec.body.length + 1)))].filter((c) => c > 0).sort((a, b) => a - b);
      const pieces = [0, ...cuts, spec.body.length].slice(1).map((end, i, ends) => spec.body.subarray(i === 0 ? 0 : ends[i - 1]!, end));
      const size = (n: number) => (spec.upperHex ? n.toString(16).toUpperCase() : n.toString(16));
      const encoded = pieces
        .filter((piece) => piece.length > 0)
        .flatMap((piece) => [bytes(`${size(piece.length)}${spec.extension}${spec.lineEnd}`), piece, bytes(spec.lineEnd)]);
      const trailer = spec.trailers.map(([n, v]) => `${n}: ${v}${spec.lineEnd}`).join('');
      payload = Buffer.concat([...encoded, bytes(`0${spec.extension}${spec.lineEnd}${trailer}${spec.lineEnd}`)]);
    }
    const status = spec.framing === 'no-content' ? noContent : spec.status;
    return {
      bytes: Buffer.concat([bytes(prefix + head(status, spec.reason, headers, spec.lineEnd)), payload]),
      method,
      expected: {
        status,
        reason: spec.reason,
        headers,
        body: spec.framing === 'chunked' || spec.framing === 'length' ? spec.body : Buffer.alloc(0),
        interim: spec.interim.map((i) => i.status),
      },
    };
  });

/** A last response that only the end of the connection frames: no framing headers, or no status line at all. */
const lastResponse: fc.Arbitrary<GeneratedResponse> = fc.oneof(
  fc.record({ status: fc.constantFrom(200, 400, 500), reason, headers: fields, body }).map((spec) => ({
    bytes: Buffer.concat([bytes(head(spec.status, spec.reason, spec.headers, '\r\n')), spec.body]),
    method: 'GET',
    expected: { status: spec.status, reason: spec.reason, headers: spec.headers, body: spec.body, interim: [] },
  })),
  body.map((page) => {
    const bare = Buffer.concat([bytes('<'), page]);
    return { bytes: bare, method: 'GET', expected: { status: 0, reason: '', headers: [], body: bare, interim: [] } };
  }),
);

const validStream = fc
  .tuple(fc.array(framedResponse, { maxLength: 4 }), fc.option(lastResponse, { nil: undefined }))
  .map(([framed, last]) => {
    const all = last ? [...framed, last] : framed;
    return { bytes: Buffer.concat(all.map((r) => r.bytes)), methods: all.map((r) => r.method), responses: all };
  });

/** Fragments of HTTP glued at random: mostly near-valid, often hostile (mixed framing, bad sizes, NULs). */
const tokenSoup = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.constantFrom(
          'HTTP/1.1 ', 'HTTP/1.0 100 Continue\r\n\r\n', '200', '204', '304', '101', ' OK', '\r\n', '\n', '\r', ': ',
          'Content-Length: ', 'Transfer-Encoding: chunked', 'Content-Length: 3, 4', '5', '0', 'ff', ';ext', '\x00', 'abc', '\r\n\r\n',
        ),
        fc.string({ maxLength: 6 }).map((s) => s.replace(/[^\x00-\xff]/g, '?')),
      ),
      { maxLength: 40 },
    ),
    fc.array(fc.constantFrom('GET', 'HEAD', 'CONNECT', 'POST'), { maxLength: 6 }),
  )
  .map(([parts, methods]) => ({ bytes: bytes(parts.join('')), methods }));

const garbage = fc.oneof(
  tokenSoup,
  fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.array(fc.constantFrom('GET', 'HEAD'), { maxLength: 3 })).map(([b, methods]) => ({
    bytes: Buffer.from(b),
    methods,
  })),
);

/** The parse of a prefix, then of the rest from `consumed`, must equal the parse of the whole. */
function expectSplitInvariant(data: Buffer, methods: readonly string[], at: number): void {
  const whole = parseResponses(data, methods, true).responses;
  const first = parseResponses(data.subarray(0, at), methods, false);
  const settled = first.responses.filter((r) => r.complete);
  expect(first.responses.length - settled.length).toBeLessThanOrEqual(1);
  expect(first.responses.slice(0, settled.length)).toEqual(settled);
  const rest = parseResponses(data.subarray(first.consumed), methods.slice(settled.length), true);
  expect([...settled, ...rest.responses]).toEqual(whole);
}

/** Every received byte belongs to exactly one response, in order. */
function expectBytesAccounted(data: Buffer, responses: ParsedResponse[]): void {
  expect(Buffer.concat(responses.map((r) => r.raw)).equals(data)).toBe(true);
}

describe('properties', () => {
  propTest.prop([validStream])('generated responses parse to what was generated', (stream) => {
    const { responses } = parseResponses(stream.bytes, stream.methods, true);
    expect(responses.map((r) => ({ status: r.status, reason: r.reason, headers: r.headers, body: r.body, interim: r.interim.map((i) => i.status) }))).toEqual(
      stream.responses.map((r) => r.expected),
    );
    expect(responses.every((r) => r.complete && r.framingError === undefined)).toBe(true);
    expectBytesAccounted(stream.bytes, responses);
  });

  propTest.prop([validStream, fc.nat()])('splitting valid responses at any point never changes the final parse', (stream, at) => {
    expectSplitInvariant(stream.bytes, stream.methods, at % (stream.bytes.length + 1));
  });

  propTest.prop([validStream, fc.array(fc.nat(), { maxLength: 8 })])(
    'feeding a stream in arbitrary pieces, parsing between them, gives the one-shot parse',
    (stream, cutPoints) => {
      const cuts = [...new Set(cutPoints.map((c) => c % (stream.bytes.length + 1)))].sort((a, b) => a - b);
      const incremental = new ResponseStream(stream.methods);
      let from = 0;
      for (const cut of [...cuts, stream.bytes.length]) {
        incremental.append(stream.bytes.subarray(from, cut));
        incremental.snapshot();
        from = cut;
      }
      incremental.end(true);
      expect(incremental.snapshot()).toEqual(parseResponses(stream.bytes, stream.methods, true));
    },
  );

  propTest.prop([garbage, fc.nat(), fc.boolean()])('garbage never throws, and every byte is accounted for', (input, at, ended) => {
    const { responses, consumed } = parseResponses(input.bytes, input.methods, ended);
    expectBytesAccounted(input.bytes, responses);
    if (ended) expect(consumed).toBe(input.bytes.length);
    expectSplitInvariant(input.bytes, input.methods, at % (input.bytes.length + 1));
  });
});
