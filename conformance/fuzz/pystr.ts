/**
 * Python 3.11 string semantics for latin-1 text, as http.server, http.client, email and wsgiref apply them to the
 * bytes of a request. The fuzzing model (model.ts) needs them to say what a Django-profile server does with any
 * bytes: which words a request line has, which Content-Length int() accepts, how a refused value is quoted.
 */

/** `str.isspace()` for U+0000..U+00FF: what `str.split()` splits on and `str.strip()` removes. */
const PYTHON_WHITESPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0]);

export function isPythonSpace(code: number): boolean {
  return PYTHON_WHITESPACE.has(code);
}

/** `str.split()` with no argument. */
export function pySplit(text: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const space = i === text.length || isPythonSpace(text.charCodeAt(i));
    if (space && start >= 0) {
      words.push(text.slice(start, i));
      start = -1;
    } else if (!space && start < 0) {
      start = i;
    }
  }
  return words;
}

/** `str.strip()` with no argument. */
export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPythonSpace(text.charCodeAt(start))) start++;
  while (end > start && isPythonSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** `str.rstrip(chars)` / `str.lstrip(chars)`. */
export function pyRstrip(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1]!)) end--;
  return text.slice(0, end);
}

export function pyLstrip(text: string, chars: string): string {
  let start = 0;
  while (start < text.length && chars.includes(text[start]!)) start++;
  return text.slice(start);
}

/**
 * `int(text)` for latin-1 text: surrounding whitespace, an optional sign, ASCII digits with single underscores
 * between them (no other latin-1 character is a decimal digit). Null where int() raises ValueError.
 */
export function pyInt(text: string): number | null {
  const match = /^([+-]?)([0-9](?:_?[0-9])*)$/.exec(pyStrip(text));
  if (!match) return null;
  const value = Number(match[2]!.replaceAll('_', ''));
  return match[1] === '-' ? -value : value;
}

/** `str.isprintable()` for one latin-1 character: controls, NBSP and the soft hyphen are not. */
function isPrintable(code: number): boolean {
  return !(code < 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xad);
}

/** `repr(text)` for latin-1 text. */
export function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char === quote || char === '\\') out += '\\' + char;
    else if (char === '\t') out += '\\t';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (isPrintable(code)) out += char;
    else out += '\\x' + code.toString(16).padStart(2, '0');
  }
  return out + quote;
}

/** `html.escape(text, quote=False)`. */
export function htmlEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
