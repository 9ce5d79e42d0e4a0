/**
 * A small HTTP/1.1 origin server that follows RFC 9112/9110 strictly and answers with the probe contract, so the
 * `rfc` checks have a target that can pass them all; each `Flaw` switches on one deviation of the kind real servers
 * show (most are seen in Django, waitress, gunicorn, cheroot, werkzeug or nginx), so each check can be shown to fail
 * on a server that breaks exactly its requirement. Test support only: one request at a time per connection.
 */
import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import { parseProbeActions, PROBE_CONTRACT, serialiseProbeReport, type ProbeReport } from '../../conformance/probes/contract.ts';

/** Each switches on one deviation; the comment says what the server then does. */
export const FLAWS = [
  // The request line
  'any-method', // a method of any bytes but SP
  'split-on-single-space', // parts found by split(' '): with two spaces the target is ''
  'version-case-insensitive', // "http/1.1" is HTTP/1.1
  'version-leading-zeros', // "HTTP/01.1" is HTTP/1.1
  'any-version', // HTTP/2.0 served as HTTP/1.1
  'echo-version', // the status line repeats the request's version
  'any-target', // "*", "h1spec", control characters and "#fragment" taken as the path
  'absolute-form-as-path', // an absolute-form target becomes PATH_INFO as it is
  'skip-proxy-header', // a PROXY v1 line or v2 header is skipped, the request behind it served
  // Line ends and whitespace
  'bare-cr-line-end', // CR alone ends a line; lines without a colon are skipped
  'lf-in-value', // only CRLF ends a line: a bare LF stays in the field value
  'trim-field-name', // whitespace before the colon is dropped
  'whitespace-led-field', // a whitespace-led first field line is a field
  'keep-obs-fold', // a folded line is kept in the value, CRLF and all
  'any-field-name', // any bytes before the colon make a name, none too
  'colonless-ends-head', // a line without a colon ends the field section
  'ctl-in-value', // control characters pass into field values
  'close-case-sensitive', // only "close" in lower case closes
  'close-whole-value', // the whole Connection value must be "close"
  // Host
  'no-host-check', // Host is not required, counted or validated
  'host-header-wins', // with an absolute-form target the application still gets the Host field
  // Content-Length
  'cl-parse-int', // parseInt: "+52", "52abc", "5_2" and "-52" are numbers (a negative one is 0)
  'cl-invalid-as-zero', // fields joined, anything but digits is 0
  'cl-octal', // a leading 0 means octal
  'cl-wraps-64', // the value is taken modulo 2^64
  'get-has-no-body', // a GET's Content-Length is ignored
  // Transfer-Encoding and the chunked coding
  'te-ignored', // Transfer-Encoding is not looked at
  'te-over-cl-keep-alive', // with both fields, Transfer-Encoding frames and the connection stays open
  'te-substring-chunked', // any value holding "chunked" is chunked
  'te-raw-compare', // only the value exactly "chunked", whitespace and case as sent, is chunked; others get 501
  'chunk-size-parse-int', // parseInt(size, 16): "zz" is 0, "0x5" is 5
  'chunk-size-wraps', // the size is taken modulo 2^64
  'chunk-data-unchecked', // the two bytes after chunk data are skipped unread
  'chunk-ext-rejected', // any chunk extension gets 400
  'chunk-error-500', // a chunked body that cannot be decoded gets 500, not 400
  'trailers-unsupported', // the last chunk must be followed by CRLF; a trailer is left as the next request
  // Expect
  'expect-any-version', // 100 Continue to HTTP/1.0 requests too
  'expect-exact-or-close', // only "100-continue" exactly; any other expectation drops the connection
  // Limits
  'small-head-limit', // a request head over 4096 bytes gets 500
  // Responses
  'status-line-no-reason', // "HTTP/1.1 200" with no SP and no reason phrase
  'content-length-off-by-one', // Content-Length one more than the content
  'body-on-no-content', // 204 and 304 carry the application's body and Content-Length
  'no-date', // no Date field
  'chunked-to-http10', // chunked responses to HTTP/1.0 requests
  'te-with-content-length', // chunked responses also carry a Content-Length
] as const;

export type Flaw = (typeof FLAWS)[number];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** A field value may hold HTAB, SP, visible ASCII and obs-text; no other control characters (RFC 9110 §5.5). */
const FIELD_VALUE_CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** RFC 3986 host: IP-literal or reg-name, then an optional port (RFC 9110 §7.2). */
const HOST_VALUE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(:[0-9]*)?$/;
/** chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) (RFC 9112 §7.1.1). */
const CHUNK_EXTENSIONS =
  /^(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))?)*$/;
const PROXY_V2_SIGNATURE = Buffer.from('\r\n\r\n\x00\r\nQUIT\n', 'latin1');

const REQUEST_LINE_LIMIT = 16 * 1024;
const HEAD_LIMIT = 32 * 1024;
const FLAWED_HEAD_LIMIT = 4096;
const BODY_LIMIT = 1024 * 1024;
const CHUNK_LINE_LIMIT = 4096;
const LINGER_MS = 1000;

/** An error the server answers itself, then closes. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The peer ended the stream before a request was complete: close without a word. */
class Hangup extends Error {}

interface Field {
  name: string;
  /** Without surrounding whitespace. */
  value: string;
  /** Everything after the colon, as sent. */
  raw: string;
}

interface Request {
  method: string;
  /** What the request is handled as. */
  version: 'HTTP/1.0' | 'HTTP/1.1';
  /** The version token as sent. */
  sentVersion: string;
  path: string;
  query: string;
  fields: Field[];
  /** The host the application gets: the absolute-form target's, else the Host field's. */
  host: string | undefined;
  body: Buffer;
  close: boolean;
}

/** Bytes of one connection, read on demand: each read waits for enough bytes or the end of the stream. */
class Reader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  get available(): Buffer {
    return this.buffer;
  }

  /** Waits until `ready()` holds or the stream ends; false when it ended first. */
  async until(ready: () => boolean): Promise<boolean> {
    while (!ready()) {
      if (this.ended) return false;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return true;
  }

  consume(count: number): Buffer {
    const taken = this.buffer.subarray(0, count);
    this.buffer = this.buffer.subarray(count);
    return taken;
  }

  async take(count: number): Promise<Buffer> {
    if (!(await this.until(() => this.buffer.length >= count))) throw new Hangup();
    return this.consume(count);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/**
 * The connection handler of the server (for `startTinyServer`), with `flaws` switched on. Each connection is served
 * request after request until one asks to close, an error is answered, or the client goes.
 */
export function rfcServer(flaws: Iterable<Flaw> = []): (socket: net.Socket) => void {
  const switched = new Set(flaws);
  return (socket) => {
    const reader = new Reader();
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('end', () => reader.end());
    void new Connection(switched, socket, reader).run();
  };
}

class Connection {
  /** The method of the request being read, once known: errors answering HEAD have no body. */
  private method = '';

  constructor(
    private readonly flaws: ReadonlySet<Flaw>,
    private readonly socket: net.Socket,
    private readonly reader: Reader,
  ) {}

  private flawed(flaw: Flaw): boolean {
    return this.flaws.has(flaw);
  }

  async run(): Promise<void> {
    try {
      for (;;) {
        this.method = '';
        const request = await this.readRequest();
        if (!request || !this.respond(request)) break;
      }
      this.socket.end();
    } catch (error) {
      // A Hangup (the client went mid-request, or a flaw drops the connection) closes without a word.
      if (error instanceof HttpError) this.fail(error);
      else this.socket.destroy();
    }
  }

  // --- Reading ---------------------------------------------------------------------------------------------------

  private headLimit(strict: number): number {
    return this.flawed('small-head-limit') ? FLAWED_HEAD_LIMIT : strict;
  }

  private tooLong(strictStatus: number, what: string): HttpError {
    return this.flawed('small-head-limit') ? new HttpError(500, `${what} over the limit`) : new HttpError(strictStatus, `${what} too long`);
  }

  /**
   * One line, without its end. Strict: a line ends with CRLF, and neither a bare CR nor a bare LF may appear (RFC 9112
   * §2.2). Null when the stream ended before any byte of it.
   */
  private async readLine(limit: number, tooLong: () => HttpError): Promise<string | null> {
    const crEnds = this.flawed('bare-cr-line-end');
    const lfStays = this.flawed('lf-in-value');
    let end = -1;
    let terminator = 0;
    const found = await this.reader.until(() => {
      const bytes = this.reader.available;
      for (let i = 0; i < bytes.length && i <= limit; i++) {
        const byte = bytes[i];
        if (byte === 0x0a && !lfStays) {
          [end, terminator] = i > 0 && bytes[i - 1] === 0x0d ? [i - 1, 2] : [i, 1];
          return true;
        }
        if (byte === 0x0d && (crEnds || lfStays)) {
          if (i + 1 >= bytes.length) return false;
          if (bytes[i + 1] === 0x0a) {
            [end, terminator] = [i, 2];
            return true;
          }
          if (crEnds) {
            [end, terminator] = [i, 1];
            return true;
          }
        }
      }
      if (bytes.length > limit) throw tooLong();
      return false;
    });
    if (!found) {
      if (this.reader.available.length === 0) return null;
      throw new Hangup();
    }
    const line = this.reader.consume(end + terminator).subarray(0, end).toString('latin1');
    if (!crEnds && !lfStays && terminator === 1) throw new HttpError(400, 'bare LF');
    if (!crEnds && line.includes('\r')) throw new HttpError(400, 'bare CR');
    return line;
  }

  private async readRequest(): Promise<Request | null> {
    const requestLine = await this.readRequestLine();
    if (requestLine === null) return null;
    const [method, target, sentVersion] = this.splitRequestLine(requestLine);
    this.method = method;
    const version = this.parseVersion(sentVersion);
    const fields = await this.readFields(requestLine.length);
    const { path, query, authority } = this.parseTarget(method, target);
    const host = this.checkHost(fields, version, authority);
    const close = this.wantsClose(fields, version);
    const framing = this.framing(method, version, fields);
    this.handleExpect(fields, version, framing);
    const body = framing.kind === 'length' ? await this.reader.take(framing.length) : framing.kind === 'chunked' ? await this.readChunked() : Buffer.alloc(0);
    return { method, version, sentVersion, path, query, fields, host, body, close };
  }

  /** Skips the empty lines a request may follow (RFC 9112 §2.2); answers at once when the first byte cannot start a method. */
  private async readRequestLine(): Promise<string | null> {
    if (this.flawed('skip-proxy-header')) await this.skipProxyHeader();
    for (;;) {
      const ready = await this.reader.until(() => this.reader.available.length > 0);
      if (!ready) return null;
      const bytes = this.reader.available;
      if (bytes[0] === 0x0d || bytes[0] === 0x0a) {
        const line = await this.readLine(2, () => new HttpError(400, 'not an empty line'));
        if (line === null) return null;
        if (line !== '') throw new HttpError(400, 'a line that is neither empty nor a request line');
        continue;
      }
      if (!this.flawed('any-method') && !TCHAR.test(String.fromCharCode(bytes[0]!))) throw new HttpError(400, 'not a request');
      return this.readLine(this.headLimit(REQUEST_LINE_LIMIT), () => this.tooLong(414, 'request line'));
    }
  }

  private async skipProxyHeader(): Promise<void> {
    await this.reader.until(() => this.reader.available.length >= PROXY_V2_SIGNATURE.length + 4);
    const bytes = this.reader.available;
    if (bytes.subarray(0, 6).toString('latin1') === 'PROXY ') {
      await this.readLine(HEAD_LIMIT, () => new HttpError(400, 'PROXY line too long'));
    } else if (bytes.length >= 16 && bytes.subarray(0, PROXY_V2_SIGNATURE.length).equals(PROXY_V2_SIGNATURE)) {
      await this.reader.take(16 + bytes.readUInt16BE(14));
    }
  }

  private splitRequestLine(line: string): [string, string, string] {
    let parts: string[];
    if (this.flawed('split-on-single-space')) {
      const words = line.split(' ');
      parts = words.length >= 3 ? [words[0]!, words[1]!, words[words.length - 1]!] : words;
    } else {
      parts = line.split(' ');
    }
    if (parts.length !== 3) throw new HttpError(400, 'the request line is not three words');
    const [method] = parts as [string, string, string];
    if (!(this.flawed('any-method') ? method.length > 0 : TOKEN.test(method))) throw new HttpError(400, 'the method is not a token');
    return parts as [string, string, string];
  }

  /** HTTP/1.0, or HTTP/1.1 for any later 1.x (RFC 9110 §6.2); 505 for another major version. */
  private parseVersion(token: string): Request['version'] {
    const digits = this.flawed('version-leading-zeros') ? '(\\d+)\\.(\\d+)' : '(\\d)\\.(\\d)';
    const match = new RegExp(`^HTTP/${digits}$`, this.flawed('version-case-insensitive') ? 'i' : '').exec(token);
    if (!match) throw new HttpError(400, 'bad version');
    const [major, minor] = [Number(match[1]), Number(match[2])];
    if (major !== 1 && !this.flawed('any-version')) throw new HttpError(505, 'unsupported version');
    return major === 1 && minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
  }

  private parseTarget(method: string, target: string): { path: string; query: string; authority: string | undefined } {
    const absolute = /^http:\/\/([^/?#]*)([^#]*)$/i.exec(target);
    if (absolute && !this.flawed('absolute-form-as-path')) {
      const [path, query] = splitQuery(absolute[2] || '/');
      return { path, query, authority: absolute[1] };
    }
    const visible = /^[\x21-\x7e]+$/.test(target) && !target.includes('#');
    const valid = (target.startsWith('/') && visible) || (target === '*' && method === 'OPTIONS') || absolute !== null;
    if (!valid && !this.flawed('any-target')) throw new HttpError(400, 'bad request target');
    const [path, query] = splitQuery(target);
    return { path, query, authority: undefined };
  }

  private async readFields(used: number): Promise<Field[]> {
    const fields: Field[] = [];
    let size = used;
    let first = true;
    for (;;) {
      const line = await this.readLine(this.headLimit(HEAD_LIMIT) - size, () => this.tooLong(431, 'field section'));
      if (line === null) throw new Hangup();
      size += line.length + 2;
      if (line === '') return fields;
      const continuation = line.startsWith(' ') || line.startsWith('\t');
      if (continuation && first && this.flawed('whitespace-led-field')) {
        this.addField(fields, line.trimStart());
      } else if (continuation && !first && this.flawed('keep-obs-fold')) {
        const folded = fields[fields.length - 1]!;
        folded.value += `\r\n${line}`;
        folded.raw += `\r\n${line}`;
      } else if (continuation) {
        throw new HttpError(400, first ? 'whitespace before the first field' : 'obsolete line folding');
      } else if (!line.includes(':') && this.flawed('colonless-ends-head')) {
        await this.skipToEndOfHead();
        return fields;
      } else if (!line.includes(':') && this.flawed('bare-cr-line-end')) {
        // Skipped, as a mail parser would.
      } else {
        this.addField(fields, line);
      }
      first = false;
    }
  }

  private async skipToEndOfHead(): Promise<void> {
    for (;;) {
      const line = await this.readLine(HEAD_LIMIT, () => new HttpError(431, 'field section too long'));
      if (line === null || line === '') return;
    }
  }

  private addField(fields: Field[], line: string): void {
    const colon = line.indexOf(':');
    if (colon < 0) throw new HttpError(400, 'a field line without a colon');
    let name = line.slice(0, colon);
    if (this.flawed('trim-field-name')) name = name.trimEnd();
    if (!this.flawed('any-field-name') && !TOKEN.test(name)) throw new HttpError(400, 'a field name that is not a token');
    const raw = line.slice(colon + 1);
    const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    const allowed = this.flawed('ctl-in-value') || (this.flawed('lf-in-value') && !/[\x00-\x08\x0b-\x1f\x7f]/.test(value));
    if (!allowed && FIELD_VALUE_CTL.test(value)) throw new HttpError(400, 'a control character in a field value');
    fields.push({ name, value, raw });
  }

  private checkHost(fields: Field[], version: string, authority: string | undefined): string | undefined {
    const hosts = valuesOf(fields, 'host');
    if (!this.flawed('no-host-check')) {
      if (hosts.length > 1 || (hosts.length === 0 && version !== 'HTTP/1.0')) throw new HttpError(400, 'not exactly one Host');
      if (hosts[0] !== undefined && !HOST_VALUE.test(hosts[0])) throw new HttpError(400, 'an invalid Host');
    }
    return authority !== undefined && !this.flawed('host-header-wins') ? authority : hosts.join(',') || undefined;
  }

  private wantsClose(fields: Field[], version: string): boolean {
    const value = valuesOf(fields, 'connection').join(',');
    const options = value.split(',').map((option) => option.trim());
    let close: boolean;
    if (this.flawed('close-whole-value')) close = value.toLowerCase() === 'close';
    else if (this.flawed('close-case-sensitive')) close = options.includes('close');
    else close = options.some((option) => option.toLowerCase() === 'close');
    const keepAlive = options.some((option) => option.toLowerCase() === 'keep-alive');
    return close || (version === 'HTTP/1.0' && !keepAlive);
  }

  /** RFC 9112 §6.1, §6.3: how the body is framed. */
  private framing(method: string, version: string, fields: Field[]): Framing {
    const codings = this.flawed('te-ignored') ? [] : valuesOf(fields, 'transfer-encoding');
    const lengths = valuesOf(fields, 'content-length');
    if (codings.length > 0) {
      if (version === 'HTTP/1.0') throw new HttpError(400, 'Transfer-Encoding in an HTTP/1.0 request');
      if (lengths.length > 0 && !this.flawed('te-over-cl-keep-alive')) throw new HttpError(400, 'both Content-Length and Transfer-Encoding');
      if (!this.isChunked(fields, codings)) throw new HttpError(codings.join(',').toLowerCase().trim().endsWith('chunked') ? 400 : 501, 'not chunked');
      return { kind: 'chunked' };
    }
    if (lengths.length === 0 || (method === 'GET' && this.flawed('get-has-no-body'))) return { kind: 'length', length: 0 };
    return { kind: 'length', length: this.contentLength(lengths) };
  }

  private isChunked(fields: Field[], codings: string[]): boolean {
    if (this.flawed('te-substring-chunked')) return codings.join(',').includes('chunked');
    if (this.flawed('te-raw-compare')) {
      const raw = fields.filter((field) => field.name.toLowerCase() === 'transfer-encoding').map((field) => field.raw);
      return raw.length === 1 && raw[0] === ' chunked';
    }
    const list = codings.flatMap((value) => value.split(',')).map((element) => element.trim().toLowerCase()).filter((element) => element !== '');
    return list.length === 1 && list[0] === 'chunked';
  }

  private contentLength(values: string[]): number {
    if (this.flawed('cl-parse-int')) return Math.max(0, Number.parseInt(values[0]!, 10) || 0);
    if (this.flawed('cl-invalid-as-zero')) {
      const joined = values.join(', ');
      return /^\d+$/.test(joined) ? Number(joined) : 0;
    }
    const elements = values.flatMap((value) => value.split(',')).map((element) => element.trim());
    if (!elements.every((element) => /^\d+$/.test(element))) throw new HttpError(400, 'an invalid Content-Length');
    const numbers = elements.map((element) => BigInt(element));
    if (numbers.some((n) => n !== numbers[0])) throw new HttpError(400, 'Content-Length values differ');
    let length = numbers[0]!;
    if (this.flawed('cl-wraps-64')) length = BigInt.asUintN(64, length);
    if (this.flawed('cl-octal') && /^0\d/.test(elements[0]!)) length = BigInt(Number.parseInt(elements[0]!, 8));
    if (length > BigInt(BODY_LIMIT)) throw new HttpError(413, 'the body is too large');
    return Number(length);
  }

  private handleExpect(fields: Field[], version: string, framing: Framing): void {
    const expectations = valuesOf(fields, 'expect');
    if (expectations.length === 0) return;
    const value = expectations.join(',');
    const continueAsked = this.flawed('expect-exact-or-close') ? value === '100-continue' : value.trim().toLowerCase() === '100-continue';
    if (!continueAsked) {
      if (this.flawed('expect-exact-or-close')) throw new Hangup();
      if (version !== 'HTTP/1.0') throw new HttpError(417, 'unknown expectation');
      return;
    }
    const bodyComes = framing.kind === 'chunked' || framing.length > 0;
    if (bodyComes && (version !== 'HTTP/1.0' || this.flawed('expect-any-version'))) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
  }

  /** Decodes the chunked body; with the chunk-error-500 flaw a broken coding is the server's error, not the client's. */
  private async readChunked(): Promise<Buffer> {
    try {
      return await this.decodeChunks();
    } catch (error) {
      if (error instanceof HttpError && error.status === 400 && this.flawed('chunk-error-500')) throw new HttpError(500, error.message);
      throw error;
    }
  }

  private async decodeChunks(): Promise<Buffer> {
    const pieces: Buffer[] = [];
    let total = 0;
    for (;;) {
      const line = await this.readLine(CHUNK_LINE_LIMIT, () => new HttpError(400, 'chunk-size line too long'));
      if (line === null) throw new Hangup();
      const size = this.chunkSize(line);
      if (size === 0) break;
      total += size;
      if (total > BODY_LIMIT) throw new HttpError(413, 'the body is too large');
      pieces.push(await this.reader.take(size));
      const end = await this.reader.take(2);
      if (!this.flawed('chunk-data-unchecked') && end.toString('latin1') !== '\r\n') throw new HttpError(400, 'chunk data not followed by CRLF');
    }
    await this.readTrailers();
    return Buffer.concat(pieces);
  }

  private chunkSize(line: string): number {
    const sizeEnd = line.search(/[^0-9A-Fa-f]/);
    const digits = sizeEnd < 0 ? line : line.slice(0, sizeEnd);
    const extensions = sizeEnd < 0 ? '' : line.slice(sizeEnd);
    if (this.flawed('chunk-size-parse-int')) return Number.parseInt(line, 16) || 0;
    if (digits === '' || !CHUNK_EXTENSIONS.test(extensions)) throw new HttpError(400, 'a bad chunk-size line');
    if (extensions !== '' && this.flawed('chunk-ext-rejected')) throw new HttpError(400, 'chunk extensions are not supported');
    let size = BigInt(`0x${digits}`);
    if (this.flawed('chunk-size-wraps')) size = BigInt.asUintN(64, size);
    if (size > BigInt(BODY_LIMIT)) throw new HttpError(413, 'the chunk is too large');
    return Number(size);
  }

  private async readTrailers(): Promise<void> {
    if (this.flawed('trailers-unsupported')) {
      if (!(await this.reader.until(() => this.reader.available.length >= 2))) throw new Hangup();
      if (this.reader.available.subarray(0, 2).toString('latin1') === '\r\n') this.reader.consume(2);
      return;
    }
    await this.readFields(0);
  }

  // --- Answering -----------------------------------------------------------------------------------------------------

  /** Answers with the probe report; true when the connection stays open. */
  private respond(request: Request): boolean {
    const actions = parseProbeActions(valuesOf(request.fields, 'x-probe-action').join(','));
    const status = actions.reduce((code, action) => (action.kind === 'status' ? action.code : code), 200);
    const noLength = actions.some((action) => action.kind === 'no-length');
    const body = serialiseProbeReport(this.report(request));
    // Without a length, an HTTP/1.0 response ends with the connection.
    const close = request.close || (noLength && request.version === 'HTTP/1.0' && !this.flawed('chunked-to-http10'));
    this.writeResponse(request, status, body, { noLength, close });
    return !close;
  }

  private report(request: Request): ProbeReport {
    const environ: ProbeReport['environ'] = {
      REQUEST_METHOD: request.method,
      SCRIPT_NAME: '',
      PATH_INFO: decodePath(request.path),
      QUERY_STRING: request.query,
      SERVER_PROTOCOL: request.version,
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(this.socket.localPort ?? ''),
      REMOTE_ADDR: this.socket.remoteAddress ?? '',
      CONTENT_LENGTH: valuesOf(request.fields, 'content-length')[0] ?? '',
    };
    for (const { name, value } of request.fields) {
      const key = `HTTP_${name.toUpperCase().replaceAll('-', '_')}`;
      if (key === 'HTTP_CONTENT_LENGTH' || key === 'HTTP_HOST') continue;
      environ[key] = environ[key] === undefined ? value : `${environ[key] as string},${value}`;
    }
    if (request.host !== undefined) environ.HTTP_HOST = request.host;
    return { contract: PROBE_CONTRACT, environ, objects: {}, body: { length: request.body.length, base64: request.body.toString('base64') } };
  }

  /** `sentVersion`: the request's version token, which a flawed server repeats. */
  private statusLine(status: number, sentVersion = 'HTTP/1.1'): string {
    const shownVersion = this.flawed('echo-version') ? sentVersion : 'HTTP/1.1';
    if (this.flawed('status-line-no-reason')) return `${shownVersion} ${status}\r\n`;
    return `${shownVersion} ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  }

  private writeResponse(request: Request, status: number, body: Buffer, options: { noLength: boolean; close: boolean }): void {
    const { version, method } = request;
    const lines: string[] = [];
    if (!this.flawed('no-date')) lines.push(`Date: ${new Date().toUTCString()}`);
    lines.push('Content-Type: application/json');
    const noContent = status === 204 || status === 304;
    let content = method === 'HEAD' ? Buffer.alloc(0) : body;
    if (noContent && !this.flawed('body-on-no-content')) {
      content = Buffer.alloc(0);
    } else if (options.noLength && (version !== 'HTTP/1.0' || this.flawed('chunked-to-http10'))) {
      lines.push('Transfer-Encoding: chunked');
      if (this.flawed('te-with-content-length')) lines.push(`Content-Length: ${body.length}`);
      content = method === 'HEAD' ? content : chunkedOf(content);
    } else if (!options.noLength || noContent) {
      lines.push(`Content-Length: ${body.length + (this.flawed('content-length-off-by-one') ? 1 : 0)}`);
    }
    if (options.close) lines.push('Connection: close');
    this.socket.write(Buffer.concat([Buffer.from(`${this.statusLine(status, request.sentVersion)}${lines.map((line) => `${line}\r\n`).join('')}\r\n`, 'latin1'), content]));
  }

  /** Answers an error, then closes, reading and dropping whatever else comes for a moment so the answer is not lost to a reset. */
  private fail(error: HttpError): void {
    const page = Buffer.from(`${error.status} ${STATUS_CODES[error.status] ?? ''}: ${error.message}\n`, 'latin1');
    const head = [
      this.statusLine(error.status).trimEnd(),
      ...(this.flawed('no-date') ? [] : [`Date: ${new Date().toUTCString()}`]),
      'Content-Type: text/plain',
      `Content-Length: ${page.length}`,
      'Connection: close',
    ];
    this.socket.end(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), this.method === 'HEAD' ? Buffer.alloc(0) : page]));
    this.socket.removeAllListeners('data');
    this.socket.on('data', () => {});
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }
}

type Framing = { kind: 'length'; length: number } | { kind: 'chunked' };

function valuesOf(fields: Field[], name: string): string[] {
  return fields.filter((field) => field.name.toLowerCase() === name).map((field) => field.value);
}

function splitQuery(target: string): [string, string] {
  const mark = target.indexOf('?');
  return mark < 0 ? [target, ''] : [target.slice(0, mark), target.slice(mark + 1)];
}

/** Percent-decoding with each byte read as latin-1, as WSGI servers do. */
function decodePath(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

function chunkedOf(content: Buffer): Buffer {
  const middle = Math.floor(content.length / 2);
  const pieces = [content.subarray(0, middle), content.subarray(middle)].filter((piece) => piece.length > 0);
  return Buffer.concat([...pieces.flatMap((piece) => [Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
}
