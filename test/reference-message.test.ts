/**
 * reference/message.ts against real CPython 3.11: the head split into fields as the compat32 email parser splits
 * it (`email.parser.Parser(_class=http.client.HTTPMessage).parsestr`), and read off a socket with the limits of
 * `http.client.parse_headers` — where the head ends, what is left unread, when a line or the count is too much.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HTTPMessage, HTTP_CLIENT_LIMITS, LineTooLong, TooManyHeaders, parseHeaderBlock, readHeaderBlock, type HeaderLimits } from '../reference/message.ts';
import { SocketReader } from '../reference/socket-io.ts';
import { PythonOracle, latin1Base64 } from './support/python-oracle.ts';
import { socketPair } from './support/reference-harness.ts';

let oracle: PythonOracle;
beforeAll(() => {
  oracle = PythonOracle.start();
});
afterAll(async () => {
  await oracle?.close();
});

type Items = Array<[string, string]>;
/** `http.client.parse_headers` over the bytes: the fields and the unread rest, or the exception it raised. */
type ParseHeadersAnswer = { items: Items; rest: string } | { error: 'LineTooLong' | 'HTTPException'; message: string };

const items = (message: HTTPMessage): Items => message.items().map(([name, value]) => [name, value]);

/** readHeaderBlock over a real socket the bytes were written to (then end of stream), then the rest of the stream. */
async function readOverSocket(bytes: Buffer, limits?: HeaderLimits): Promise<ParseHeadersAnswer> {
  const { near, far } = await socketPair();
  near.end(bytes);
  const reader = new SocketReader(far);
  try {
    const head = await readHeaderBlock(reader, limits);
    return { items: items(parseHeaderBlock(head)), rest: (await reader.read(-1)).toString('base64') };
  } catch (err) {
    if (err instanceof LineTooLong) return { error: 'LineTooLong', message: err.message };
    if (err instanceof TooManyHeaders) return { error: 'HTTPException', message: err.message };
    throw err;
  } finally {
    far.destroy();
    near.destroy();
  }
}

// ---- head generators: the pieces a real head is made of, and the odd ones the email parser has rules for ----

const char = (code: number) => String.fromCharCode(code);
/** feedparser's header-name characters: printable ASCII but the colon (underscores included). */
const nameChar = fc.constantFrom(...'aAzZ09-_!#$%&*+.^`|~'.split(''), ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => char(0x21 + i)).filter((c) => c !== ':'));
const name = fc.string({ unit: nameChar, minLength: 1, maxLength: 8 });
/** Anything but CR and LF, which end a line for the parser: latin-1, controls, colons, white space of every kind. */
const valueChar = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'b', ' ', '\t', ':', '\x00', '\x0b', '\x0c', '\x1c', '\x85', '\xa0', '\xe9', '\xff'), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 0xff }).filter((code) => code !== 0x0a && code !== 0x0d).map(char), weight: 1 },
);
const value = fc.string({ unit: valueChar, maxLength: 10 });
const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r');
const ows = fc.constantFrom('', ' ', '  ', '\t', ' \t');

const piece = fc.oneof(
  { arbitrary: fc.tuple(name, ows, value, eol).map(([n, w, v, e]) => `${n}:${w}${v}${e}`), weight: 12 },
  { arbitrary: fc.tuple(fc.constantFrom(' ', '\t', '  '), value, eol).map(([w, v, e]) => `${w}${v}${e}`), weight: 2 }, // obs-fold
  { arbitrary: fc.tuple(name, value, eol).map(([n, v, e]) => `${n.replaceAll(':', '')}${v.replaceAll(':', '')}${e}`), weight: 1 }, // no colon
  { arbitrary: fc.tuple(name, fc.constantFrom(' ', '\t'), value, eol).map(([n, w, v, e]) => `${n}${w}:${v}${e}`), weight: 1 }, // white space before the colon
  { arbitrary: fc.tuple(value, eol).map(([v, e]) => `:${v}${e}`), weight: 1 }, // leading colon
  { arbitrary: fc.tuple(value, eol).map(([v, e]) => `From ${v}${e}`), weight: 1 }, // unix-from envelope line
  { arbitrary: fc.tuple(name, value, value, eol).map(([n, a, b, e]) => `${n}: ${a}\r${b}${e}`), weight: 1 }, // bare CR inside
  { arbitrary: fc.tuple(value, eol).map(([v, e]) => `X-\xe9\xff: ${v}${e}`), weight: 1 }, // latin-1 in the name
  { arbitrary: fc.tuple(value, eol).map(([v, e]) => `X_Under_Score: ${v}${e}`), weight: 1 },
  { arbitrary: eol, weight: 1 }, // a blank line: the end of the head, for the socket reader
);
const head = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''));

describe('parseHeaderBlock against the compat32 email parser', () => {
  test('the fields, names and raw values, in order, for generated heads', async () => {
    await fc.assert(
      fc.asyncProperty(head, async (text) => {
        expect(items(parseHeaderBlock(text))).toEqual(await oracle.one<Items>('parsestr', latin1Base64(text)));
      }),
      { numRuns: 300 },
    );
  });

  test.each([
    ['an obs-fold continuation stays in the value, raw', 'A: 1\r\n  2\r\n\t3\r\nB: x\r\n\r\n'],
    ['a continuation before any field is dropped', ' lost\r\nA: 1\r\n\r\n'],
    ['a line without a colon ends the head', 'A: 1\r\nNo colon here\r\nB: 2\r\n\r\n'],
    ['white space before the colon ends the head', 'A: 1\r\nB : 2\r\nC: 3\r\n\r\n'],
    ['a leading colon drops that line only', 'A: 1\r\n:x\r\n continued\r\nB: 2\r\n\r\n'],
    ['From lines: first skipped, last ends the head, others dropped', 'From a\r\nA: 1\r\nFrom b\r\nB: 2\r\nFrom c\r\n'],
    ['a bare CR ends a line for the email parser', 'A: 1\rB: 2\r\n\r\n'],
    ['values are left-trimmed of SP and HTAB only', 'A:\x0b v \r\nB:\xa0w\r\n\r\n'],
    ['duplicates and underscores are kept for the handler to deal with', 'X-A: 1\r\nX_A: 2\r\nx-a: 3\r\n\r\n'],
  ])('%s', async (_name, text) => {
    expect(items(parseHeaderBlock(text))).toEqual(await oracle.one<Items>('parsestr', latin1Base64(text)));
  });
});

describe('readHeaderBlock over a socket against http.client.parse_headers', () => {
  test('where the head ends, its fields, and the bytes left unread, for generated heads followed by a body', async () => {
    const stream = fc.tuple(head, fc.string({ unit: valueChar, maxLength: 8 })).map(([text, body]) => Buffer.from(`${text}\r\n${body}`, 'latin1'));
    await fc.assert(
      fc.asyncProperty(stream, async (bytes) => {
        expect(await readOverSocket(bytes)).toEqual(await oracle.one<ParseHeadersAnswer>('parse_headers', bytes.toString('base64')));
      }),
      { numRuns: 100 },
    );
  });

  /** A header line of `length` bytes, CRLF included. */
  const lineOf = (length: number) => `X-Long: ${'v'.repeat(length - 'X-Long: \r\n'.length)}\r\n`;
  const linesOf = (count: number) => Array.from({ length: count }, (_, i) => `X-${i}: ${i}\r\n`).join('');

  test.each([
    ['a line of exactly 65536 bytes with its CRLF is read', lineOf(65536) + '\r\nrest'],
    ['65537 bytes raise LineTooLong (HDR-LINE-LIMIT)', lineOf(65537) + '\r\n'],
    ['99 lines and the blank line are read', linesOf(99) + '\r\nrest'],
    ['100 lines and the blank line raise "got more than 100 headers" (HDR-COUNT-LIMIT)', linesOf(100) + '\r\n'],
    ['an end of stream ends the head too', 'A: 1\r\nB: 2'],
  ])('%s', async (_name, text) => {
    const bytes = Buffer.from(text, 'latin1');
    const theirs = await oracle.one<ParseHeadersAnswer>('parse_headers', bytes.toString('base64'));
    expect(await readOverSocket(bytes)).toEqual(theirs);
  });

  test('the limits are parameters: HTTP_CLIENT_LIMITS by default, any other pair exactly at its boundary', async () => {
    expect(HTTP_CLIENT_LIMITS).toEqual({ maxLine: 65536, maxHeaders: 100 });
    const small: HeaderLimits = { maxLine: 16, maxHeaders: 3 };
    const sixteen = 'X: 0123456789ab\r\n';
    expect(sixteen.length).toBe(16 + 1);
    expect(await readOverSocket(Buffer.from('X: 0123456789a\r\n\r\n'), small)).toEqual({ items: [['X', '0123456789a']], rest: '' });
    expect(await readOverSocket(Buffer.from(sixteen + '\r\n'), small)).toEqual({ error: 'LineTooLong', message: 'got more than 16 bytes when reading header line' });
    expect(await readOverSocket(Buffer.from('A: 1\r\nB: 2\r\n\r\n'), small)).toMatchObject({ items: [['A', '1'], ['B', '2']] });
    expect(await readOverSocket(Buffer.from('A: 1\r\nB: 2\r\nC: 3\r\n\r\n'), small)).toEqual({ error: 'HTTPException', message: 'got more than 3 headers' });
  });
});

describe('HTTPMessage', () => {
  test('lookups ignore case and return the first field; delete removes every field of the name', () => {
    const message = parseHeaderBlock('Host: a\r\nX-Dup: 1\r\nx-dup: 2\r\nOther: o\r\n\r\n');
    expect(message.get('X-DUP')).toBe('1');
    expect(message.get('missing')).toBeUndefined();
    message.delete('x-Dup');
    expect(message.names()).toEqual(['Host', 'Other']);
  });
});
