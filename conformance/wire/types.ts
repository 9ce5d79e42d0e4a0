/** Where a target listens. `host` is an IP literal or a name; IPv6 literals are given without brackets. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A piece of a request written on its own, optionally followed by a pause, so a check can control how bytes arrive. */
export interface Segment {
  bytes: Buffer;
  pauseAfterMs?: number;
}

export type Writable = Buffer | string | Segment[];

/** How reading from a connection ended. `open` means the caller stopped reading while the server still had the connection open. */
export type CloseState = 'eof' | 'reset' | 'open' | 'timeout';

export type Framing = 'content-length' | 'chunked' | 'close' | 'none';

/** One response as it came off the wire. */
export interface ParsedResponse {
  /** `status`: a status line was seen. `bare`: bytes that do not start with `HTTP/` (an HTTP/0.9-style body, e.g. Django's bare error page). */
  kind: 'status' | 'bare';
  version: string;
  status: number;
  reason: string;
  /** Header fields in the order received, names as sent. */
  headers: Array<[string, string]>;
  /** 1xx responses that came before this one. */
  interim: ParsedResponse[];
  body: Buffer;
  framing: Framing;
  /** True when the framing was satisfied (for `close` framing: the connection ended cleanly). */
  complete: boolean;
  /** Every byte of this response, interim responses included. */
  raw: Buffer;
  /**
   * Set when the message could not be framed as declared (invalid or conflicting Content-Length, malformed status line,
   * bad chunk syntax, a head over the size cap); says why. The parser then reads the rest of the connection into this response.
   */
  framingError?: string;
  /** Line ends of the lines framing read (head, chunk-size lines, trailers): `lf` when only bare LFs were seen. Absent for `bare`. */
  lineEnds?: 'crlf' | 'lf' | 'mixed';
  /** For chunked framing: every chunk-size line seen, the last chunk (size 0) included; `extensions` is the text after the size, as sent. */
  chunks?: Array<{ size: number; extensions: string }>;
  /** For chunked framing: the trailer fields, in order received. */
  trailers?: Array<[string, string]>;
}

/** The record of one connection: what was sent, what came back, and how it ended. */
export interface Conversation {
  sent: Buffer;
  received: Buffer;
  responses: ParsedResponse[];
  close: CloseState;
  elapsedMs: number;
  /** True when reading stopped at the byte cap (`maxBytes`): the server may have sent more. */
  truncated?: boolean;
}
