import { ByteLog } from './byte-log.ts';
import type { Framing, ParsedResponse } from './types.ts';

/** The longest head (status line, fields, blank line), trailer section or chunk-size line the parser reads before giving up on framing. */
export const MAX_HEAD_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const HTTP_NAME = Buffer.from('HTTP/', 'latin1');
const STATUS_LINE = /^(HTTP\/[^ ]*) ([0-9]{3})(?: (.*))?$/s;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]+)([ \t]*(?:;.*)?)$/s;
/** 13 hex digits stay below 2^53, so the size is exact as a JS number. */
const MAX_CHUNK_SIZE_DIGITS = 13;
const EMPTY = Buffer.alloc(0);

type Phase =
  | { kind: 'start' }
  | ({ kind: 'head' } & LineScan)
  | { kind: 'length'; from: number; end: number }
  | { kind: 'chunk-size'; searchFrom: number }
  | { kind: 'chunk-data'; end: number }
  | { kind: 'chunk-end' }
  | ({ kind: 'trailers'; sectionStart: number } & LineScan)
  /** The response runs to the end of the connection; `bodyFrom` is where its body starts, null when it gets no more body. */
  | { kind: 'until-close'; bodyFrom: number | null; completesOnCleanEnd: boolean };

/** Where a scan for the blank line ending a section resumes: the start of the current line, and how far it was searched. */
interface LineScan {
  lineStart: number;
  searchFrom: number;
}

interface Head {
  version: string;
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  malformed: boolean;
}

type FramingDecision =
  | { framing: 'none' | 'chunked' }
  | { framing: 'content-length'; length: number }
  | { framing: 'close'; error?: string };

/** The response being parsed: its interim responses so far, and the state of its own message. */
class Pending {
  phase: Phase = { kind: 'start' };
  /** The parse position inside the message (start of the next chunk-size line, of chunk data, ...). */
  pos: number;
  kind: 'status' | 'bare' = 'status';
  head: Head | null = null;
  framing: Framing = 'none';
  framingError: string | undefined;
  /** Chunk data pieces already complete. */
  readonly bodyRanges: Array<[number, number]> = [];
  chunks: Array<{ size: number; extensions: string }> | undefined;
  trailers: Array<[string, string]> | undefined;
  crlf = 0;
  lf = 0;

  /**
   * `start`: the first byte of the response, interim responses included; `headStart`: the first byte of its current
   * message; `interim`: the interim responses before it (shared along the way, not copied: a server may send thousands).
   */
  constructor(
    readonly start: number,
    readonly headStart: number,
    readonly interim: ParsedResponse[] = [],
  ) {
    this.pos = headStart;
  }
}

/**
 * Parses what a server sends on one connection, incrementally: bytes are appended as they arrive and parsed lazily
 * (only when a result is asked for), resuming where the last parse stopped, so a large body costs O(its size) overall.
 *
 * `methods` is read lazily too: `methods[i]` is looked up when the head of the i-th final response is parsed, so a
 * caller may append to the array as it writes requests. A response with no known method is taken as answering GET.
 */
export class ResponseStream {
  private readonly log = new ByteLog();
  private readonly settled: ParsedResponse[] = [];
  private readonly interimSeen: ParsedResponse[] = [];
  private current = new Pending(0, 0);
  private ended = false;
  private cleanEnd = false;

  constructor(private readonly methods: readonly string[]) {}

  get length(): number {
    return this.log.length;
  }

  append(chunk: Buffer): void {
    if (!this.ended) this.log.append(chunk);
  }

  /** No more bytes will come. `clean`: the peer ended the stream in order (FIN), not by a reset; only then is a close-delimited body complete. */
  end(clean: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.cleanEnd = clean;
  }

  /** Every byte appended, as one Buffer. */
  bytes(): Buffer {
    return this.log.all();
  }

  /** How many final responses are settled: complete, or cut short by the end of the stream. */
  settledCount(): number {
    this.advance();
    return this.settled.length;
  }

  settledResponses(from: number, to: number): ParsedResponse[] {
    this.advance();
    return this.settled.slice(from, to);
  }

  /** Every interim (1xx) response parsed so far, in order, whether or not its final response has come. */
  interimResponses(): readonly ParsedResponse[] {
    this.advance();
    return this.interimSeen;
  }

  /** The response still being received (never complete), or null when the bytes so far end on a response boundary. */
  provisional(): ParsedResponse | null {
    this.advance();
    return this.log.length > this.current.start ? this.build(this.current, this.log.length, false) : null;
  }

  /**
   * Settled responses, then the provisional one if any. `consumed` is the offset where the provisional response starts:
   * the parse of the bytes before it can no longer change. Once the stream has ended every response is settled.
   */
  snapshot(): { responses: ParsedResponse[]; consumed: number } {
    const provisional = this.provisional();
    const responses = provisional ? [...this.settled, provisional] : [...this.settled];
    return { responses, consumed: this.current.start };
  }

  private advance(): void {
    while (this.step()) {
      // Each step moved the parse on; stop when one needs more bytes.
    }
    if (this.ended && this.log.length > this.current.start) {
      const cur = this.current;
      const phase = cur.phase;
      this.settle(cur, this.log.length, phase.kind === 'until-close' && phase.completesOnCleanEnd && this.cleanEnd);
    }
  }

  private step(): boolean {
    const cur = this.current;
    const phase = cur.phase;
    switch (phase.kind) {
      case 'start':
        return this.stepStart(cur);
      case 'head':
        return this.stepHead(cur, phase);
      case 'length':
        if (this.log.length < phase.end) return false;
        this.settle(cur, phase.end, true);
        return true;
      case 'chunk-size':
        return this.stepChunkSize(cur, phase);
      case 'chunk-data':
        if (this.log.length < phase.end) return false;
        cur.bodyRanges.push([cur.pos, phase.end]);
        cur.pos = phase.end;
        cur.phase = { kind: 'chunk-end' };
        return true;
      case 'chunk-end':
        return this.stepChunkEnd(cur);
      case 'trailers':
        return this.stepTrailers(cur, phase);
      case 'until-close':
        return false;
    }
  }

  private stepStart(cur: Pending): boolean {
    const available = this.log.length - cur.pos;
    if (available === 0) return false;
    const compared = Math.min(available, HTTP_NAME.length);
    let isHttp = true;
    for (let i = 0; i < compared && isHttp; i++) isHttp = this.log.byteAt(cur.pos + i) === HTTP_NAME[i];
    if (isHttp && compared < HTTP_NAME.length && !this.ended) return false;
    if (isHttp && compared === HTTP_NAME.length) {
      cur.phase = { kind: 'head', lineStart: cur.pos, searchFrom: cur.pos };
    } else {
      // Not a status line (an HTTP/0.9-style answer, e.g. Django's bare error page): the body is all that follows.
      cur.kind = 'bare';
      cur.framing = 'close';
      cur.phase = { kind: 'until-close', bodyFrom: cur.pos, completesOnCleanEnd: true };
    }
    return true;
  }

  private stepHead(cur: Pending, phase: Extract<Phase, { kind: 'head' }>): boolean {
    const limit = cur.headStart + MAX_HEAD_BYTES;
    const headEnd = this.findSectionEnd(phase, limit);
    if (headEnd < 0) {
      if (this.log.length < limit) return false;
      cur.head = parseHead(this.takeLines(cur, cur.headStart, phase.lineStart));
      cur.framing = 'close';
      this.giveUp(cur, `response head longer than ${MAX_HEAD_BYTES} bytes`);
      return true;
    }
    const head = parseHead(this.takeLines(cur, cur.headStart, headEnd).slice(0, -1));
    cur.head = head;
    if (head.malformed) {
      cur.framingError = 'malformed status line';
      this.readUntilClose(cur, headEnd);
      return true;
    }
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      // An interim response is a message of its own: its bytes and line ends only, no earlier interims.
      const interim = this.buildMessage(cur, cur.headStart, headEnd, true, []);
      this.interimSeen.push(interim);
      cur.interim.push(interim);
      this.current = new Pending(cur.start, headEnd, cur.interim);
      return true;
    }
    const decision = decideFraming(head, this.methods[this.settled.length] ?? 'GET');
    cur.framing = decision.framing;
    cur.pos = headEnd;
    switch (decision.framing) {
      case 'none':
        this.settle(cur, headEnd, true);
        break;
      case 'content-length':
        cur.phase = { kind: 'length', from: headEnd, end: headEnd + decision.length };
        break;
      case 'chunked':
        cur.chunks = [];
        cur.trailers = [];
        cur.phase = { kind: 'chunk-size', searchFrom: headEnd };
        break;
      case 'close':
        cur.framingError = decision.error;
        this.readUntilClose(cur, headEnd);
        break;
    }
    return true;
  }

  private stepChunkSize(cur: Pending, phase: Extract<Phase, { kind: 'chunk-size' }>): boolean {
    const limit = cur.pos + MAX_HEAD_BYTES;
    const lf = this.log.indexOf(LF, phase.searchFrom, limit);
    if (lf < 0) {
      phase.searchFrom = Math.min(this.log.length, limit);
      if (this.log.length < limit) return false;
      this.giveUp(cur, `chunk-size line longer than ${MAX_HEAD_BYTES} bytes`);
      return true;
    }
    const [line = ''] = this.takeLines(cur, cur.pos, lf + 1);
    const chunk = parseChunkSize(line);
    if (typeof chunk === 'string') {
      this.giveUp(cur, chunk);
      return true;
    }
    cur.chunks!.push(chunk);
    cur.pos = lf + 1;
    cur.phase =
      chunk.size === 0
        ? { kind: 'trailers', sectionStart: cur.pos, lineStart: cur.pos, searchFrom: cur.pos }
        : { kind: 'chunk-data', end: cur.pos + chunk.size };
    return true;
  }

  private stepChunkEnd(cur: Pending): boolean {
    const available = this.log.length - cur.pos;
    if (available === 0) return false;
    const first = this.log.byteAt(cur.pos);
    if (first === CR && available < 2) return false;
    if (first === LF || (first === CR && this.log.byteAt(cur.pos + 1) === LF)) {
      if (first === LF) cur.lf++;
      else cur.crlf++;
      cur.pos += first === LF ? 1 : 2;
      cur.phase = { kind: 'chunk-size', searchFrom: cur.pos };
    } else {
      this.giveUp(cur, 'chunk data not followed by CRLF');
    }
    return true;
  }

  private stepTrailers(cur: Pending, phase: Extract<Phase, { kind: 'trailers' }>): boolean {
    const limit = phase.sectionStart + MAX_HEAD_BYTES;
    const sectionEnd = this.findSectionEnd(phase, limit);
    if (sectionEnd < 0) {
      if (this.log.length < limit) return false;
      this.giveUp(cur, `trailer section longer than ${MAX_HEAD_BYTES} bytes`);
      return true;
    }
    cur.trailers = parseFields(this.takeLines(cur, phase.sectionStart, sectionEnd).slice(0, -1));
    this.settle(cur, sectionEnd, true);
    return true;
  }

  /**
   * Scans for the blank line that ends a head or trailer section, resuming from `scan`; returns the offset just past it,
   * or -1 when there is none before min(end of data, limit).
   */
  private findSectionEnd(scan: LineScan, limit: number): number {
    for (;;) {
      const lf = this.log.indexOf(LF, scan.searchFrom, limit);
      if (lf < 0) {
        scan.searchFrom = Math.min(this.log.length, limit);
        return -1;
      }
      const lineLength = lf - scan.lineStart;
      if (lineLength === 0 || (lineLength === 1 && this.log.byteAt(scan.lineStart) === CR)) return lf + 1;
      scan.lineStart = scan.searchFrom = lf + 1;
    }
  }

  /** The lines in [from, to) (which ends just after a LF), counted into the response's line ends. */
  private takeLines(cur: Pending, from: number, to: number): string[] {
    const split = splitLines(this.log.slice(from, to));
    cur.crlf += split.crlf;
    cur.lf += split.lf;
    return split.lines;
  }

  /** The framing cannot go on: the rest of the connection belongs to this response, which can no longer complete. */
  private giveUp(cur: Pending, reason: string): void {
    cur.framingError = reason;
    cur.phase = { kind: 'until-close', bodyFrom: null, completesOnCleanEnd: false };
  }

  private readUntilClose(cur: Pending, bodyFrom: number): void {
    cur.framing = 'close';
    cur.phase = { kind: 'until-close', bodyFrom, completesOnCleanEnd: true };
  }

  private settle(cur: Pending, end: number, complete: boolean): void {
    this.settled.push(this.build(cur, end, complete));
    this.current = new Pending(end, end);
  }

  /** The response `cur` describes if it ended at `end`; does not change `cur`, so it also serves for provisional snapshots. */
  private build(cur: Pending, end: number, complete: boolean): ParsedResponse {
    return this.buildMessage(cur, cur.start, end, complete, [...cur.interim]);
  }

  /** The message `cur` describes as the bytes [start, end), with `interim` as its interim responses. */
  private buildMessage(cur: Pending, start: number, end: number, complete: boolean, interim: ParsedResponse[]): ParsedResponse {
    const phase = cur.phase;
    let head = cur.head;
    let crlf = cur.crlf;
    let lf = cur.lf;
    if (!head && phase.kind === 'head' && phase.lineStart > cur.headStart) {
      // A head cut short: report the lines that did arrive whole.
      const split = splitLines(this.log.slice(cur.headStart, phase.lineStart));
      head = parseHead(split.lines);
      crlf += split.crlf;
      lf += split.lf;
    }
    const ranges: Array<readonly [number, number]> = [...cur.bodyRanges];
    if (phase.kind === 'length') ranges.push([phase.from, Math.min(end, phase.end)]);
    else if (phase.kind === 'chunk-data') ranges.push([cur.pos, Math.min(end, phase.end)]);
    else if (phase.kind === 'until-close' && phase.bodyFrom !== null) ranges.push([phase.bodyFrom, end]);
    const raw = this.log.slice(start, end);
    // A body in one piece lies inside `raw`: share its memory instead of copying it again.
    const [only] = ranges;
    const body =
      ranges.length === 0 ? EMPTY : ranges.length === 1 && only ? raw.subarray(only[0] - start, only[1] - start) : this.log.gather(ranges);
    const response: ParsedResponse = {
      kind: cur.kind,
      version: head?.version ?? '',
      status: head?.status ?? 0,
      reason: head?.reason ?? '',
      headers: head?.headers ?? [],
      interim,
      body,
      framing: cur.framing,
      complete,
      raw,
    };
    if (cur.framingError !== undefined) response.framingError = cur.framingError;
    if (crlf + lf > 0) response.lineEnds = lf === 0 ? 'crlf' : crlf === 0 ? 'lf' : 'mixed';
    if (cur.chunks) response.chunks = [...cur.chunks];
    if (cur.trailers) response.trailers = [...cur.trailers];
    return response;
  }
}

/**
 * Parses the responses in `data`, the bytes a server sent on one connection; `methods[i]` is the method of the i-th
 * request sent on it. `ended`: the connection ended cleanly after `data`. Every response but the last is complete
 * unless the stream ended; a last response with `complete` false is provisional when not ended, and starts at `consumed`.
 * Never throws.
 */
export function parseResponses(
  data: Buffer,
  methods: readonly string[],
  ended: boolean,
): { responses: ParsedResponse[]; consumed: number } {
  const stream = new ResponseStream(methods);
  stream.append(data);
  if (ended) stream.end(true);
  return stream.snapshot();
}

/** Splits bytes ending in LF into lines, trimming one CR before each LF, and counts which line end each had. */
function splitLines(bytes: Buffer): { lines: string[]; crlf: number; lf: number } {
  const lines = bytes.toString('latin1').split('\n');
  lines.pop();
  let crlf = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.endsWith('\r')) {
      lines[i] = line.slice(0, -1);
      crlf++;
    }
  }
  return { lines, crlf, lf: lines.length - crlf };
}

function parseHead(lines: readonly string[]): Head {
  const statusLine = lines[0] ?? '';
  const headers = parseFields(lines.slice(1));
  const match = STATUS_LINE.exec(statusLine);
  if (!match) return { version: statusLine.split(' ', 1)[0] ?? '', status: 0, reason: '', headers, malformed: true };
  return { version: match[1]!, status: Number(match[2]), reason: match[3] ?? '', headers, malformed: false };
}

/**
 * Field lines as [name, value]: the name as sent, the value without surrounding whitespace. An obs-fold continuation is
 * joined to the previous value with one space (RFC 9112 §5.2); a line without a colon is kept whole as a name with an
 * empty value, so nothing the server sent is lost.
 */
function parseFields(lines: readonly string[]): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const line of lines) {
    const previous = fields[fields.length - 1];
    if (previous && (line.startsWith(' ') || line.startsWith('\t'))) {
      const continuation = trimWhitespace(line);
      previous[1] = previous[1] && continuation ? `${previous[1]} ${continuation}` : previous[1] + continuation;
      continue;
    }
    const colon = line.indexOf(':');
    fields.push(colon < 0 ? [line, ''] : [line.slice(0, colon), trimWhitespace(line.slice(colon + 1))]);
  }
  return fields;
}

function trimWhitespace(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** The elements of every field named `name` (case-insensitive), split on commas and trimmed, in order. */
function listElements(headers: ReadonlyArray<[string, string]>, name: string): string[] | null {
  const matching = headers.filter(([fieldName]) => fieldName.toLowerCase() === name);
  if (matching.length === 0) return null;
  return matching.flatMap(([, value]) => value.split(',').map(trimWhitespace));
}

/** RFC 9112 §6.3, for a response to `method`. */
function decideFraming(head: Head, method: string): FramingDecision {
  const { status } = head;
  if (method === 'HEAD' || status === 204 || status === 304 || (method === 'CONNECT' && status >= 200 && status < 300)) {
    return { framing: 'none' };
  }
  // After 101 the connection speaks another protocol: everything that follows belongs to this response.
  if (status === 101) return { framing: 'close' };
  const codings = listElements(head.headers, 'transfer-encoding');
  if (codings) {
    const last = codings.filter((coding) => coding !== '').pop();
    return { framing: last?.toLowerCase() === 'chunked' ? 'chunked' : 'close' };
  }
  const lengths = listElements(head.headers, 'content-length');
  if (!lengths) return { framing: 'close' };
  const sent = lengths.join(', ');
  if (!lengths.every((value) => /^[0-9]+$/.test(value))) return { framing: 'close', error: `invalid Content-Length: ${sent}` };
  const distinct = new Set(lengths.map(Number));
  if (distinct.size > 1) return { framing: 'close', error: `conflicting Content-Length values: ${sent}` };
  const [length = 0] = distinct;
  if (!Number.isSafeInteger(length)) return { framing: 'close', error: `Content-Length too large: ${sent}` };
  return { framing: 'content-length', length };
}

function parseChunkSize(line: string): { size: number; extensions: string } | string {
  const match = CHUNK_SIZE_LINE.exec(line);
  if (!match) return `invalid chunk-size line: ${JSON.stringify(line.slice(0, 80))}`;
  const digits = match[1]!.replace(/^0+(?=.)/, '');
  if (digits.length > MAX_CHUNK_SIZE_DIGITS) return `chunk size too large: ${digits.slice(0, 80)}`;
  return { size: parseInt(digits, 16), extensions: match[2]! };
}
