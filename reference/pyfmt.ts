/**
 * The few CPython string semantics the server's behaviour depends on. Request bytes are decoded as latin-1
 * (as http.server does), so every string here holds code points 0–255 and only that range matters.
 */

/** `str.isspace()` over latin-1: what `str.split()`, `str.strip()` and `int()` treat as white space. */
const PY_WHITESPACE = new Uint8Array(256);
for (const code of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0]) PY_WHITESPACE[code] = 1;

export function isPyWhitespace(code: number): boolean {
  return PY_WHITESPACE[code] === 1;
}

/** `s.split()` with no separator: runs of white space split, empty words dropped. */
export function pySplit(s: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (isPyWhitespace(s.charCodeAt(i))) {
      if (start >= 0) words.push(s.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (start >= 0) words.push(s.slice(start));
  return words;
}

/** `s.strip()` with no argument. */
export function pyStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isPyWhitespace(s.charCodeAt(start))) start++;
  while (end > start && isPyWhitespace(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** `s.rstrip(chars)` / `s.lstrip(chars)` with an explicit set of characters. */
export function pyRstrip(s: string, chars: string): string {
  let end = s.length;
  while (end > 0 && chars.includes(s[end - 1]!)) end--;
  return s.slice(0, end);
}

export function pyLstrip(s: string, chars: string): string {
  let start = 0;
  while (start < s.length && chars.includes(s[start]!)) start++;
  return s.slice(start);
}

/** CPython 3.11 refuses to convert a decimal string of more digits than this (sys.get_int_max_str_digits()). */
const INT_MAX_STR_DIGITS = 4300;

/** Digit runs up to this long are exact as a double and far below INT_MAX_STR_DIGITS. */
const MAX_PLAIN_DIGITS = 15;

function isPlainDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/**
 * `int(s)` for a str in base 10: surrounding white space, one sign, digits with single underscores between
 * them. Returns null where Python raises ValueError. int() trims less than str.strip(): not \x1c-\x1f.
 */
export function pyInt(s: string): number | null {
  // The usual case (a plain run of digits, as in a version or a Content-Length) needs none of the rules below.
  if (s.length > 0 && s.length <= MAX_PLAIN_DIGITS && isPlainDigits(s)) return Number(s);
  const m = /^[\t\n\x0b\x0c\r \x85\xa0]*([+-]?)(\d(?:_?\d)*)[\t\n\x0b\x0c\r \x85\xa0]*$/.exec(s);
  if (!m) return null;
  const digits = m[2]!.replaceAll('_', '');
  if (digits.length > INT_MAX_STR_DIGITS) return null;
  const value = Number(digits);
  return m[1] === '-' ? -value : value;
}

/** `str.isprintable()` over latin-1: controls, DEL..NBSP and the soft hyphen are not printable. */
function isPyPrintable(code: number): boolean {
  return !(code < 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xad);
}

/** `repr(s)` of a str: the quote Python picks, its escapes, and printable latin-1 kept as is. */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (!isPyPrintable(code)) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

/** `html.escape(s, quote=False)` */
export function htmlEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * A date format of the current time, computed once per second: both formats show whole seconds, and a busy server
 * would otherwise format the same second thousands of times.
 */
function oncePerSecond(format: (date: Date) => string): () => string {
  let second = NaN;
  let text = '';
  return () => {
    const now = Date.now();
    const current = Math.floor(now / 1000);
    if (current !== second) {
      second = current;
      text = format(new Date(now));
    }
    return text;
  };
}

function formatHttpDate(date: Date): string {
  return date.toUTCString();
}

const currentHttpDate = oncePerSecond(formatHttpDate);

/** `email.utils.formatdate(usegmt=True)`, the HTTP-date of the Date header; the current time when no date is given. */
export function httpDate(date?: Date): string {
  return date ? formatHttpDate(date) : currentHttpDate();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

function formatLogDateTime(date: Date): string {
  return (
    `${twoDigits(date.getDate())}/${MONTHS[date.getMonth()]}/${String(date.getFullYear()).padStart(4, '0')} ` +
    `${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}:${twoDigits(date.getSeconds())}`
  );
}

const currentLogDateTime = oncePerSecond(formatLogDateTime);

/** `BaseHTTPRequestHandler.log_date_time_string()`: local time, `24/Nov/2026 06:25:40`; the current time when no date is given. */
export function logDateTime(date?: Date): string {
  return date ? formatLogDateTime(date) : currentLogDateTime();
}
