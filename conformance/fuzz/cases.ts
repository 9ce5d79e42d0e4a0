/**
 * What a fuzz case is: parts (structured requests or raw bytes) sent back to back, split into writes at given
 * points. Plain data only (latin-1 strings, numbers), so a case is stored as JSON in a finding and replayed from it
 * byte for byte, whatever the arbitraries that made it have become since.
 */
import { request } from '../wire/request.ts';
import type { Segment } from '../wire/types.ts';

export interface RequestSpec {
  method: string;
  target: string;
  /** `''` for an HTTP/0.9 request line of two words. */
  version: string;
  headers: Array<[string, string]>;
  /** Latin-1; how it is framed is said by the headers (Content-Length, Transfer-Encoding) or by nothing. */
  body: string;
}

export type Part = { request: RequestSpec } | { raw: string };

export interface WireCase {
  parts: Part[];
  /** Where the bytes are cut into separate writes; each is taken modulo the length, so any numbers stay valid when shrinking shortens the bytes. */
  splits: number[];
}

export function encodePart(part: Part): Buffer {
  if ('raw' in part) return Buffer.from(part.raw, 'latin1');
  const { method, target, version, headers, body } = part.request;
  return request(method, target, version, headers, body);
}

export function caseBytes(wireCase: WireCase): Buffer {
  return Buffer.concat(wireCase.parts.map(encodePart));
}

/** The cut points inside `length` bytes: distinct, ascending, never at either end. */
export function cutPoints(splits: readonly number[], length: number): number[] {
  if (length < 2) return [];
  return [...new Set(splits.map((s) => 1 + (s % (length - 1))))].sort((a, b) => a - b);
}

/**
 * A pause after each write but the last, so the server reads the pieces apart, and the client reads what has come back
 * before it writes again: a write that fails because the server has closed meanwhile (EPIPE, a reset) would otherwise
 * make Node drop the answer still waiting in the socket.
 */
const PAUSE_BETWEEN_WRITES_MS = 1;

/** `bytes` cut into one write per piece; `trailer` (a sentinel request) rides in the last write. */
export function segmentsOf(bytes: Buffer, splits: readonly number[], trailer: Buffer = Buffer.alloc(0)): Segment[] {
  const cuts = [0, ...cutPoints(splits, bytes.length), bytes.length];
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) segments.push({ bytes: bytes.subarray(cuts[i], cuts[i + 1]), pauseAfterMs: PAUSE_BETWEEN_WRITES_MS });
  delete segments.at(-1)?.pauseAfterMs;
  const last = segments.at(-1);
  if (last) last.bytes = Buffer.concat([last.bytes, trailer]);
  else segments.push({ bytes: trailer });
  return segments.filter((segment) => segment.bytes.length > 0);
}

/** The structured requests of a case, in order (raw parts hold no structure). */
export function requestsOf(wireCase: WireCase): RequestSpec[] {
  return wireCase.parts.flatMap((part) => ('request' in part ? [part.request] : []));
}

export function headerValue(spec: RequestSpec, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return spec.headers.find(([n]) => n.toLowerCase() === wanted)?.[1];
}
