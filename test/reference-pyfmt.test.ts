/**
 * reference/pyfmt.ts against real CPython 3.11 (one long-lived /usr/bin/python3 for the whole file): the string
 * semantics the server borrows from Python — split(), strip(), repr(), int(), html.escape(), the two dates — over
 * latin-1 text, which is all a request's bytes decode to.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { htmlEscape, httpDate, isPyWhitespace, logDateTime, pyInt, pyLstrip, pyRepr, pyRstrip, pySplit, pyStrip } from '../reference/pyfmt.ts';
import { PythonOracle, latin1Base64 } from './support/python-oracle.ts';

const RUNS = 300;

let oracle: PythonOracle;
beforeAll(() => {
  oracle = PythonOracle.start();
});
afterAll(async () => {
  await oracle?.close();
});

/** What the oracle computes for one string; `int` is str(int(s)), or null where int() raises ValueError. */
interface Answer {
  split: string[];
  strip: string;
  repr: string;
  int: string | null;
  escape: string;
  rstrip_crlf: string;
  lstrip_slash: string;
}

/** The same questions answered by the port. A JS number stands for Python's int: the same value, once parsed. */
function ours(text: string): Answer {
  const int = pyInt(text);
  return {
    split: pySplit(text),
    strip: pyStrip(text),
    repr: pyRepr(text),
    // String() of -0 is "0": Python's int has no negative zero, and no caller can tell the two apart.
    int: int === null ? null : String(int),
    escape: htmlEscape(text),
    rstrip_crlf: pyRstrip(text, '\r\n'),
    lstrip_slash: pyLstrip(text, '/'),
  };
}

/** Python's answer in the port's terms: an int the port holds as a JS number is compared at that precision. */
function theirs(answer: Answer): Answer {
  return { ...answer, int: answer.int === null ? null : String(Number(answer.int)) };
}

const ask = (texts: readonly string[]) => oracle.call<Answer>('pyfmt', texts.map(latin1Base64));
const askOne = async (text: string) => theirs((await ask([text]))[0]!);

const char = (code: number) => String.fromCharCode(code);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => char(from + i));
const PY_WHITESPACE = ['\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\x85', '\xa0'];
/** Where Python's rules have edges: white space, quotes and backslash, controls, DEL..NBSP, the soft hyphen. */
const INTERESTING = [...new Set([...PY_WHITESPACE, "'", '"', '\\', '/', ...range(0x00, 0x1f), ...range(0x7f, 0xa0), '\xad'])];

/** str.isspace() is true for them, yet int() does not strip them (see the divergence below). */
const INT_IGNORES_SEPARATORS = ['\x1c', '\x1d', '\x1e', '\x1f'];

const anyLatin1 = fc.integer({ min: 0, max: 0xff }).map(char);
const latin1Text = fc.string({
  unit: fc.oneof({ arbitrary: fc.constantFrom(...INTERESTING), weight: 3 }, { arbitrary: anyLatin1, weight: 2 }),
  maxLength: 24,
});
/** Mostly what int() might accept: digits, signs, underscores, white space, now and then anything. */
const intLikeText = fc.string({
  unit: fc.oneof(
    { arbitrary: fc.constantFrom(...'0123456789'), weight: 8 },
    { arbitrary: fc.constantFrom('_', '+', '-'), weight: 2 },
    { arbitrary: fc.constantFrom(...PY_WHITESPACE), weight: 2 },
    { arbitrary: anyLatin1, weight: 1 },
  ),
  maxLength: 16,
});

const withoutSeparators = (text: string) => !INT_IGNORES_SEPARATORS.some((c) => text.includes(c));

describe('pyfmt against CPython 3.11', () => {
  test('every single latin-1 character, alone and between others, in one batch: every function agrees', async () => {
    const texts = range(0x00, 0xff).flatMap((c) => [c, `a${c}b`, `1${c}2`, `${c}7${c}`, `'${c}"`]);
    const answers = await ask(texts);
    // int() of a text holding \x1c-\x1f is the divergence below; every other answer must agree.
    const masked = (text: string, answer: Answer) => (withoutSeparators(text) ? answer : { ...answer, int: 'compared below' });
    expect(texts.map((text) => masked(text, ours(text)))).toEqual(answers.map((answer, i) => masked(texts[i]!, theirs(answer))));
  });

  // Divergence (reported): int() strips only ASCII white space and U+0085/U+00A0, not the separators \x1c-\x1f
  // that str.isspace() (and so pyStrip) includes: int('5\x1c') raises ValueError, pyInt gives 5.
  test('int() does not strip the separators \\x1c-\\x1f', async () => {
    const texts = INT_IGNORES_SEPARATORS.flatMap((c) => [`5${c}`, `${c}5`, `${c}-5${c}`]);
    const answers = await ask(texts);
    expect(texts.map((text) => ours(text).int)).toEqual(answers.map((answer) => theirs(answer).int));
  });

  test('isPyWhitespace is exactly str.isspace() over latin-1', async () => {
    const singles = range(0x00, 0xff);
    const answers = await ask(singles);
    expect(singles.map((c) => isPyWhitespace(c.charCodeAt(0)))).toEqual(answers.map((answer) => answer.split.length === 0));
  });

  test('int() refuses more than 4300 digits (sys.get_int_max_str_digits), underscores not counted', async () => {
    const texts = ['1'.repeat(4300), '1'.repeat(4301), '0'.repeat(4301), '1_'.repeat(2150) + '1', '1_'.repeat(4299) + '1', ` -${'9'.repeat(4300)}\x85`];
    const answers = await ask(texts);
    expect(texts.map((text) => ours(text).int)).toEqual(answers.map((answer) => theirs(answer).int));
  });

  test.each<[string, keyof Answer, fc.Arbitrary<string>]>([
    ['s.split()', 'split', latin1Text],
    ['s.strip()', 'strip', latin1Text],
    ['repr(s)', 'repr', latin1Text],
    ['int(s), or its ValueError', 'int', intLikeText.filter(withoutSeparators)],
    ['int(s) of any text', 'int', latin1Text.filter(withoutSeparators)],
    ['html.escape(s, quote=False)', 'escape', latin1Text],
    ["s.rstrip('\\r\\n')", 'rstrip_crlf', latin1Text],
    ["s.lstrip('/')", 'lstrip_slash', latin1Text],
  ])('%s', async (_name, field, texts) => {
    await fc.assert(
      fc.asyncProperty(texts, async (text) => {
        expect(ours(text)[field]).toEqual((await askOne(text))[field]);
      }),
      { numRuns: RUNS },
    );
  });

  const timestamps = fc.integer({ min: 0, max: 253402300799 }); // 1970 up to the end of year 9999

  test('httpDate is email.utils.formatdate(t, usegmt=True)', async () => {
    await fc.assert(
      fc.asyncProperty(timestamps, async (t) => {
        expect(httpDate(new Date(t * 1000))).toBe(await oracle.one<string>('formatdate', t));
      }),
      { numRuns: RUNS },
    );
  });

  test("logDateTime is BaseHTTPRequestHandler.log_date_time_string in the process's local time", async () => {
    await fc.assert(
      fc.asyncProperty(timestamps, async (t) => {
        expect(logDateTime(new Date(t * 1000))).toBe(await oracle.one<string>('log_date_time', t));
      }),
      { numRuns: RUNS },
    );
  });
});
