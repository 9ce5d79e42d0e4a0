/** Default cut-off for escaped evidence: long enough for any head, short enough for a report line. */
export const ESCAPE_DEFAULT_MAX_BYTES = 4096;

/** The escaped form of every byte value, built once so escaping is a table lookup per byte. */
const ESCAPED: readonly string[] = Array.from({ length: 256 }, (_, byte) => {
  switch (byte) {
    case 0x0d:
      return '\\r';
    case 0x0a:
      return '\\n';
    case 0x09:
      return '\\t';
    case 0x5c:
      return '\\\\';
    default:
      return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
});

/**
 * Bytes as readable text for reports: printable ASCII as is, `\r` `\n` `\t` `\\` escaped, every other byte `\xNN`.
 * Input longer than `max` bytes is cut, and the text says how many bytes were left out. Unambiguous: the escaped text
 * maps back to exactly one byte string (a literal backslash is always doubled).
 */
export function escapeBytes(bytes: Buffer, max: number = ESCAPE_DEFAULT_MAX_BYTES): string {
  const shown = Math.min(bytes.length, Math.max(0, max));
  const parts = new Array<string>(shown);
  for (let i = 0; i < shown; i++) parts[i] = ESCAPED[bytes[i]!]!;
  const text = parts.join('');
  const cut = bytes.length - shown;
  return cut > 0 ? `${text}…[${cut} more byte${cut === 1 ? '' : 's'}]` : text;
}
