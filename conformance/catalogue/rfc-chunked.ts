/**
 * RFC 9112 §7.1: the chunked coding of a request body, valid and broken. Requests carry Transfer-Encoding: chunked and
 * no Content-Length.
 */
import type { Writable } from '../wire/types.ts';
import { bodyIs, notWrapped, rfcRequest, singleRequestCheck, SMUGGLED_REQUEST, type Acceptance, type ConverseOptions } from './rfc-kit.ts';
import type { Level, Requirement } from './types.ts';

/** A broken chunked coding cannot frame the request: 400, then close. */
const unframeable: Acceptance = { reject: [400], closeAfterReject: true };

function chunkedCheck(
  id: string,
  title: string,
  level: Level,
  source: string,
  what: string,
  body: string,
  acceptance: Acceptance,
  options?: ConverseOptions,
  after?: Buffer,
): Requirement {
  return singleRequestCheck({
    id,
    title,
    level,
    source,
    label: `POST with Transfer-Encoding: chunked, ${what}`,
    request: (ep): Writable => {
      const head = rfcRequest(ep, 'POST', [['Transfer-Encoding', 'chunked']], body);
      return after ? Buffer.concat([head, after]) : head;
    },
    acceptance,
    options,
  });
}

const decoded = (content: string) => bodyIs(content, `the body decoded to ${JSON.stringify(content)}`);

export const rfcChunkedRequirements: Requirement[] = [
  chunkedCheck(
    'RFC-CHUNK-DECODE',
    'A chunked request body is decoded',
    'MUST',
    'RFC 9112 §7.1',
    'chunks "hel" and "lo"',
    '3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n',
    { serve: decoded('hello') },
  ),
  chunkedCheck(
    'RFC-CHUNK-SIZE-INVALID',
    'A chunk size that is not hexadecimal is rejected',
    'MUST',
    'RFC 9112 §7.1',
    'chunk size "zz"',
    'zz\r\nhello\r\n0\r\n\r\n',
    unframeable,
  ),
  chunkedCheck(
    'RFC-CHUNK-SIZE-PREFIX',
    'A chunk size written with a "0x" prefix is rejected',
    'MUST',
    'RFC 9112 §7.1',
    'chunk size "0x5"',
    '0x5\r\nhello\r\n0\r\n\r\n',
    unframeable,
  ),
  chunkedCheck(
    'RFC-CHUNK-SIZE-OVERFLOW',
    'A chunk size beyond 64 bits neither wraps around nor frames the body short',
    'MUST',
    'RFC 9112 §7.1',
    'chunk size 2^68 + 5 followed by "hello", the last chunk and a request, then end of stream',
    '10000000000000005\r\nhello\r\n0\r\n\r\n',
    {
      reject: [400, 413],
      closeAfterReject: true,
      serve: notWrapped,
    },
    // A server that wraps the size around to 5 ends the body at the last chunk and answers the request behind it.
    { halfClose: true },
    SMUGGLED_REQUEST,
  ),
  chunkedCheck(
    'RFC-CHUNK-DATA-NO-CRLF',
    'Chunk data not followed by CRLF is rejected',
    'MUST',
    'RFC 9112 §7.1',
    'a 5-byte chunk followed by "XX" instead of CRLF',
    '5\r\nhelloXX0\r\n\r\n',
    unframeable,
  ),
  chunkedCheck(
    'RFC-CHUNK-EXTENSIONS',
    'Chunk extensions, plain and quoted, are ignored',
    'MUST',
    'RFC 9112 §7.1.1',
    'chunks with extensions ";name=value" and ";q=\\"a;b\\""',
    '5;name=value\r\nhello\r\n3;q="a;b"\r\nabc\r\n0\r\n\r\n',
    { serve: decoded('helloabc') },
  ),
  chunkedCheck(
    'RFC-CHUNK-EXTENSION-BARE-CR',
    'A bare CR in a chunk extension is rejected, or read as a space; never as a line end',
    'MUST',
    'RFC 9112 §2.2, §7.1.1',
    'chunk extension ";a\\rb"',
    '5;a\rb\r\nhello\r\n0\r\n\r\n',
    { ...unframeable, serve: decoded('hello') },
  ),
  chunkedCheck(
    'RFC-CHUNK-BARE-LF',
    'Chunk lines ended by a bare LF are rejected, or read consistently; never misframed',
    'MUST',
    'RFC 9112 §7.1, §2.2, §11.2',
    'every chunk line ended by a bare LF',
    '5\nhello\n0\n\n',
    { ...unframeable, serve: decoded('hello') },
    // A server that wants CRLF may wait for one; the end of stream tells it none is coming.
    { halfClose: true },
  ),
  chunkedCheck(
    'RFC-CHUNK-TRAILER',
    'A trailer section after the last chunk is read, and the connection stays in step',
    'MUST',
    'RFC 9112 §7.1.2',
    'a trailer field after the last chunk',
    '5\r\nhello\r\n0\r\nX-Trailer: value\r\n\r\n',
    { serve: decoded('hello') },
  ),
];
