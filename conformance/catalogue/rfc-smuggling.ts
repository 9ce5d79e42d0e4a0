/**
 * RFC 9112 §6.1, §6.3, §11.2: requests with both Content-Length and Transfer-Encoding, shaped as the classic
 * desynchronisation attacks. The part of the body that one reading leaves over is a complete request to
 * SMUGGLED_PATH: a server that ever answers it has let a request through that the sender declared as body.
 */
import { bodyIs, chunked, rfcRequest, singleRequestCheck, SMUGGLED_REQUEST, type Acceptance } from './rfc-kit.ts';
import type { Requirement } from './types.ts';

const SMUGGLING = 'RFC 9112 §6.1, §6.3, §11.2';
const HELLO = chunked('hello');

/** Anything goes but answering the smuggled request (or other bytes of the body). */
const neverSmuggled: Acceptance = {
  reject: [400, 501],
  serve: { expect: 'by either framing', judge: () => null },
};

/** The chunk-size line of a chunk holding the smuggled request: a server framing by a Content-Length of its length stops there. */
const SMUGGLED_CHUNK = chunked(SMUGGLED_REQUEST);
const SIZE_LINE_LENGTH = SMUGGLED_CHUNK.indexOf('\r\n') + 2;

export const rfcSmugglingRequirements: Requirement[] = [
  singleRequestCheck({
    id: 'RFC-CL-TE-CLOSE',
    title: 'A request with both Content-Length and Transfer-Encoding is rejected, or framed by Transfer-Encoding alone; either way the connection closes',
    level: 'MUST',
    source: 'RFC 9112 §6.1, §6.3',
    label: 'POST with Content-Length (the chunked body\'s length) and Transfer-Encoding: chunked',
    request: (ep) =>
      rfcRequest(
        ep,
        'POST',
        [
          ['Content-Length', String(HELLO.length)],
          ['Transfer-Encoding', 'chunked'],
        ],
        HELLO,
      ),
    acceptance: {
      reject: [400],
      closeAfterReject: true,
      serve: bodyIs('hello', 'the body decoded from the chunked coding, Content-Length ignored'),
      closeAfterServe: true,
    },
  }),
  singleRequestCheck({
    id: 'RFC-SMUGGLE-CL-TE',
    title: 'CL.TE: a body that ends early by its chunked coding never lets the rest through as a request',
    level: 'MUST',
    source: SMUGGLING,
    label: 'POST with Content-Length covering "0\\r\\n\\r\\n" and a request, and Transfer-Encoding: chunked',
    request: (ep) => {
      const body = Buffer.concat([Buffer.from('0\r\n\r\n', 'latin1'), SMUGGLED_REQUEST]);
      return rfcRequest(
        ep,
        'POST',
        [
          ['Content-Length', String(body.length)],
          ['Transfer-Encoding', 'chunked'],
        ],
        body,
      );
    },
    acceptance: neverSmuggled,
  }),
  singleRequestCheck({
    id: 'RFC-SMUGGLE-TE-CL',
    title: 'TE.CL: a Content-Length shorter than the chunked body never lets the rest through as a request',
    level: 'MUST',
    source: SMUGGLING,
    label: 'POST with Transfer-Encoding: chunked around a request, and Content-Length covering only the chunk-size line',
    request: (ep) =>
      rfcRequest(
        ep,
        'POST',
        [
          ['Content-Length', String(SIZE_LINE_LENGTH)],
          ['Transfer-Encoding', 'chunked'],
        ],
        SMUGGLED_CHUNK,
      ),
    acceptance: neverSmuggled,
  }),
  singleRequestCheck({
    id: 'RFC-SMUGGLE-TE-TE',
    title: 'TE.TE: a second Transfer-Encoding field with an unknown coding makes the request rejected, never framed by Content-Length',
    level: 'MUST',
    source: SMUGGLING,
    label: 'POST with Transfer-Encoding: chunked, Transfer-Encoding: cow, and Content-Length covering only the chunk-size line',
    request: (ep) =>
      rfcRequest(
        ep,
        'POST',
        [
          ['Content-Length', String(SIZE_LINE_LENGTH)],
          ['Transfer-Encoding', 'chunked'],
          ['Transfer-Encoding', 'cow'],
        ],
        SMUGGLED_CHUNK,
      ),
    acceptance: { reject: [400, 501], closeAfterReject: true },
  }),
];
