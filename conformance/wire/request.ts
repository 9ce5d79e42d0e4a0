/**
 * Builds a request exactly as given: CRLF line ends, one `name: value` line per header in order, then the body.
 * Nothing is normalised or added (no Host, no Content-Length): conformance checks need the bytes they ask for.
 * Strings are encoded as latin-1, so every char U+0000..U+00FF is one byte. An empty `version` gives a two-word
 * (HTTP/0.9-style) request line; the head still ends with a blank line, as CPython 3.11's server reads header lines
 * even for HTTP/0.9. To send a request line alone, write the bytes directly.
 */
export function request(
  method: string,
  target: string,
  version: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body?: Buffer | string,
): Buffer {
  const requestLine = version === '' ? `${method} ${target}` : `${method} ${target} ${version}`;
  const fieldLines = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const head = Buffer.from(`${requestLine}\r\n${fieldLines}\r\n`, 'latin1');
  if (body === undefined) return head;
  return Buffer.concat([head, typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

/** Several requests back to back, to be sent in one write. */
export function pipeline(...requests: Buffer[]): Buffer {
  return Buffer.concat(requests);
}
