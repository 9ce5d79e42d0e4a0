import type { SocketReader } from './socket-io.ts';

/**
 * The request head after the request line, read as `http.client.parse_headers` reads it (limits of
 * `_read_headers`) and split into fields as `email.feedparser` does with the compat32 policy — which is
 * looser and stranger than RFC 9112, and is exactly what Django's runserver sees.
 */

/** http.client's `_MAXLINE` and `_MAXHEADERS` (HDR-LINE-LIMIT, HDR-COUNT-LIMIT). */
export interface HeaderLimits {
  maxLine: number;
  maxHeaders: number;
}

export const HTTP_CLIENT_LIMITS: HeaderLimits = Object.freeze({ maxLine: 65536, maxHeaders: 100 });

/** http.client.LineTooLong: one header line longer than MAX_LINE. Becomes 431 "Line too long" (HDR-LINE-LIMIT). */
export class LineTooLong extends Error {
  constructor(maxLine: number, lineType: string) {
    super(`got more than ${maxLine} bytes when reading ${lineType}`);
  }
}

/** http.client.HTTPException from _read_headers. Becomes 431 "Too many headers" (HDR-COUNT-LIMIT). */
export class TooManyHeaders extends Error {
  constructor(maxHeaders: number) {
    super(`got more than ${maxHeaders} headers`);
  }
}

/** `_read_headers`: the blank line that ends the head counts towards the limit of 100 lines. */
export async function readHeaderBlock(rfile: SocketReader, { maxLine, maxHeaders }: HeaderLimits = HTTP_CLIENT_LIMITS): Promise<string> {
  let text = '';
  for (let count = 1; ; count++) {
    // A head usually arrives whole, so most lines are had without waiting for the socket.
    const line = rfile.readlineBuffered(maxLine + 1) ?? (await rfile.readline(maxLine + 1));
    if (line.length > maxLine) throw new LineTooLong(maxLine, 'header line');
    text += line.toString('latin1');
    if (count > maxHeaders) throw new TooManyHeaders(maxHeaders);
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0a) || (line.length === 2 && line[0] === 0x0d && line[1] === 0x0a)) {
      return text;
    }
  }
}

/** The part of email.message.Message that http.server and Django use: ordered fields, case-insensitive lookups. */
export class HTTPMessage {
  /** Each field's name in lower case, lowered once rather than at every lookup. */
  private lowerNames: string[];

  constructor(private fields: Array<[string, string]>) {
    this.lowerNames = fields.map(([name]) => name.toLowerCase());
  }

  get(name: string): string | undefined {
    const index = this.lowerNames.indexOf(name.toLowerCase());
    return index >= 0 ? this.fields[index]![1] : undefined;
  }

  /** `del msg[name]`: every field of that name. */
  delete(name: string): void {
    const wanted = name.toLowerCase();
    if (!this.lowerNames.includes(wanted)) return;
    this.fields = this.fields.filter((_, i) => this.lowerNames[i] !== wanted);
    this.lowerNames = this.lowerNames.filter((lower) => lower !== wanted);
  }

  names(): string[] {
    const names: string[] = [];
    for (const [k] of this.fields) names.push(k);
    return names;
  }

  items(): ReadonlyArray<readonly [string, string]> {
    return this.fields;
  }
}

const CR = 0x0d;
const LF = 0x0a;

/** The feedparser splits on CRLF, CR and LF alike: a bare CR inside a header line ends that line for it. */
function splitLinesKeepEnds(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== CR && code !== LF) continue;
    if (code === CR && text.charCodeAt(i + 1) === LF) i++;
    lines.push(text.slice(start, i + 1));
    start = i + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

function isNameChar(code: number): boolean {
  return code >= 0x21 && code <= 0x7e && code !== 0x3a;
}

/** feedparser's `headerRE`: `^(From |[\041-\071\073-\176]*:|[\t ])` */
function looksLikeHeaderLine(line: string): boolean {
  if (line.startsWith('From ') || line[0] === ' ' || line[0] === '\t') return true;
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (code === 0x3a) return true;
    if (!isNameChar(code)) return false;
  }
  return false;
}

/** compat32's `header_source_parse`: the name before the first colon, the value left-trimmed of SP/HTAB, folds kept raw. */
function sourceParse(sourceLines: string[]): [string, string] {
  const first = sourceLines[0]!;
  const colon = first.indexOf(':');
  let valueStart = colon + 1;
  while (first[valueStart] === ' ' || first[valueStart] === '\t') valueStart++;
  const value = sourceLines.length === 1 ? first.slice(valueStart) : first.slice(valueStart) + sourceLines.slice(1).join('');
  let valueEnd = value.length;
  while (valueEnd > 0 && (value[valueEnd - 1] === '\r' || value[valueEnd - 1] === '\n')) valueEnd--;
  return [first.slice(0, colon), value.slice(0, valueEnd)];
}

/** `email.parser.Parser(_class=HTTPMessage).parsestr(text)`, headers only; defects are dropped as Python drops them. */
export function parseHeaderBlock(text: string): HTTPMessage {
  const headerLines: string[] = [];
  for (const line of splitLinesKeepEnds(text)) {
    // The first line that is not a header ends the head; whatever follows is "body" to the email parser.
    if (!looksLikeHeaderLine(line)) break;
    headerLines.push(line);
  }

  const fields: Array<[string, string]> = [];
  let current: string[] | null = null;
  for (let lineno = 0; lineno < headerLines.length; lineno++) {
    const line = headerLines[lineno]!;
    if (line[0] === ' ' || line[0] === '\t') {
      current?.push(line); // a continuation before any field is a defect and is ignored
      continue;
    }
    if (current) fields.push(sourceParse(current));
    current = null;
    if (line.startsWith('From ')) {
      // A unix-from envelope line: skipped first, ends the head last, skipped (as a defect) elsewhere.
      if (lineno === headerLines.length - 1 && lineno !== 0) break;
      continue;
    }
    if (line.indexOf(':') === 0) continue; // "Missing header name" defect
    current = [line];
  }
  if (current) fields.push(sourceParse(current));
  return new HTTPMessage(fields);
}
