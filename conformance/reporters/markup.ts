/**
 * Characters that XML 1.0 cannot carry at all, not even as character references, and that HTML reads as parse errors:
 * C0 controls other than TAB, LF and CR, lone surrogates, U+FFFE and U+FFFF. Reports write them as visible escapes
 * (`\x01`, `\ud800`), as the evidence escaping does for bytes.
 */
const FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function visibleEscape(char: string): string {
  const code = char.codePointAt(0)!;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function visibleControls(text: string): string {
  return text.replace(FORBIDDEN, visibleEscape);
}

/** Text for element content and double-quoted attributes of both XML and HTML. */
export function markupText(text: string): string {
  return visibleControls(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
