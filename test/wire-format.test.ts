import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { escapeBytes } from '../conformance/wire/escape.ts';
import { pipeline, request } from '../conformance/wire/request.ts';

describe('escapeBytes', () => {
  test('keeps printable ASCII, escapes CR LF TAB and backslash, hex-escapes the rest', () => {
    expect(escapeBytes(Buffer.from('GET / HTTP/1.1\r\nX:\t\\ok\x00\x16\x7f\xff', 'latin1'))).toBe(
      'GET / HTTP/1.1\\r\\nX:\\t\\\\ok\\x00\\x16\\x7f\\xff',
    );
  });

  test('cuts long input and says how much was cut', () => {
    expect(escapeBytes(Buffer.from('abcdef'), 4)).toBe('abcd…[2 more bytes]');
    expect(escapeBytes(Buffer.from('abcde'), 4)).toBe('abcd…[1 more byte]');
    expect(escapeBytes(Buffer.from('abcd'), 4)).toBe('abcd');
    expect(escapeBytes(Buffer.alloc(5000, 0x61))).toMatch(/^a{4096}…\[904 more bytes\]$/);
  });

  propTest.prop([fc.uint8Array({ maxLength: 200 })])('is unambiguous: the escaped text decodes back to the bytes', (array) => {
    const escaped = escapeBytes(Buffer.from(array), 1000);
    const decoded = escaped.replace(/\\(x[0-9a-f]{2}|[rnt\\])/g, (_, code: string) =>
      code.startsWith('x') ? String.fromCharCode(parseInt(code.slice(1), 16)) : { r: '\r', n: '\n', t: '\t', '\\': '\\' }[code]!,
    );
    expect(Buffer.from(decoded, 'latin1')).toEqual(Buffer.from(array));
    expect(escaped).toMatch(/^[\x20-\x7e]*$/);
  });
});

describe('request', () => {
  test('writes exactly what it is given, in order, with CRLF line ends and nothing added', () => {
    const built = request('get', '/a b?c', 'HTTP/1.1', [['X_Weird ', ' v '], ['host', 'x'], ['X-Latin', '\xe9']], 'body\xff');
    expect(built.toString('latin1')).toBe('get /a b?c HTTP/1.1\r\nX_Weird :  v \r\nhost: x\r\nX-Latin: \xe9\r\n\r\nbody\xff');
    expect(built.at(-1)).toBe(0xff);
  });

  test('takes a Buffer body as is, and no body means the head alone', () => {
    expect(request('POST', '/', 'HTTP/1.0', [], Buffer.from([0, 1, 2])).toString('latin1')).toBe('POST / HTTP/1.0\r\n\r\n\x00\x01\x02');
    expect(request('GET', '/', 'HTTP/1.1', []).toString('latin1')).toBe('GET / HTTP/1.1\r\n\r\n');
  });

  test('an empty version gives a two-word request line', () => {
    expect(request('GET', '/old', '', []).toString('latin1')).toBe('GET /old\r\n\r\n');
  });

  test('pipeline joins requests back to back', () => {
    const a = request('GET', '/1', 'HTTP/1.1', [['Host', 'h']]);
    const b = request('HEAD', '/2', 'HTTP/1.1', [['Host', 'h']]);
    expect(pipeline(a, b).toString('latin1')).toBe('GET /1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n');
  });
});
