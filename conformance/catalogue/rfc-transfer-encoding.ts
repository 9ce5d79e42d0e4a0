/**
 * RFC 9112 §6.1, §6.3, §7: the Transfer-Encoding field of a request, plain and obfuscated. Every request carries the
 * chunked coding of "hello" and no Content-Length: a server that does not take the field as chunked reads the chunk
 * lines as requests, and answers them.
 */
import type { HeaderLines } from './check-kit.ts';
import { bodyIs, chunked, oneOfBodies, rfcRequest, singleRequestCheck, type Acceptance } from './rfc-kit.ts';
import type { Level, Requirement } from './types.ts';

const HELLO = chunked('hel', 'lo');
const decoded = bodyIs('hello', 'the chunked body decoded to "hello"');

/** The final coding is not chunked, or not understood: 400 (RFC 9112 §6.3 item 4) or 501 (§6.1), then close. */
const unframeable: Acceptance = { reject: [400, 501], closeAfterReject: true };
/** A field the RFC reads as plain chunked: it must be decoded as such. */
const mustDecode: Acceptance = { serve: decoded };

function transferEncodingCheck(
  id: string,
  title: string,
  level: Level,
  source: string,
  fields: HeaderLines,
  acceptance: Acceptance,
  body: Buffer = HELLO,
): Requirement {
  const shown = fields.map(([name, value]) => `${name}:${value === '' ? '' : ` ${value}`}`).join(' + ');
  return singleRequestCheck({
    id,
    title,
    level,
    source,
    label: `POST with ${JSON.stringify(shown)} and a chunked body`,
    request: (ep) => rfcRequest(ep, 'POST', fields, body),
    acceptance,
  });
}

export const rfcTransferEncodingRequirements: Requirement[] = [
  transferEncodingCheck(
    'RFC-TE-NOT-FINAL-CHUNKED',
    'A request whose last transfer coding is not chunked is rejected, then the connection closed',
    'MUST',
    'RFC 9112 §6.3, §6.1',
    [['Transfer-Encoding', 'chunked, gzip']],
    unframeable,
  ),
  transferEncodingCheck(
    'RFC-TE-UNKNOWN',
    'A request with an unknown transfer coding ("xchunked") is rejected, then the connection closed',
    'MUST',
    'RFC 9112 §6.1, §6.3',
    [['Transfer-Encoding', 'xchunked']],
    unframeable,
  ),
  transferEncodingCheck(
    'RFC-TE-DOUBLE-CHUNKED',
    '"Transfer-Encoding: chunked, chunked" is rejected or framed by its outer chunked coding',
    'MUST',
    'RFC 9112 §6.1, §6.3',
    [['Transfer-Encoding', 'chunked, chunked']],
    { ...unframeable, serve: oneOfBodies([HELLO, Buffer.from('hello', 'latin1')], 'the outer chunked coding decoded (the application reads the inner coding, or "hello")') },
    chunked(HELLO),
  ),
  transferEncodingCheck(
    'RFC-TE-CASE-INSENSITIVE',
    'The coding name "CHUNKED" is chunked (transfer-coding names are case-insensitive)',
    'MUST',
    'RFC 9112 §7, §7.1',
    [['Transfer-Encoding', 'CHUNKED']],
    mustDecode,
  ),
  transferEncodingCheck(
    'RFC-TE-LEADING-SPACE',
    'Spaces before "chunked" are optional whitespace, not part of the coding',
    'MUST',
    'RFC 9112 §5.1, §6.1',
    [['Transfer-Encoding', '   chunked']],
    mustDecode,
  ),
  transferEncodingCheck(
    'RFC-TE-TAB',
    'Tabs around "chunked" are optional whitespace, not part of the coding',
    'MUST',
    'RFC 9112 §5.1, §6.1',
    [['Transfer-Encoding', '\tchunked\t']],
    mustDecode,
  ),
  transferEncodingCheck(
    'RFC-TE-EMPTY-ELEMENT',
    'An empty list element before "chunked" is ignored',
    'MUST',
    'RFC 9110 §5.6.1; RFC 9112 §6.1',
    [['Transfer-Encoding', ', chunked']],
    mustDecode,
  ),
  transferEncodingCheck(
    'RFC-TE-SPACE-BEFORE-COLON',
    '"Transfer-Encoding : chunked" (space before the colon) is rejected with 400',
    'MUST',
    'RFC 9112 §5.1',
    [['Transfer-Encoding ', 'chunked']],
    { reject: [400] },
  ),
  singleRequestCheck({
    id: 'RFC-TE-HTTP10',
    title: 'An HTTP/1.0 request with Transfer-Encoding is treated as faulty framing: the connection closes after it',
    level: 'MUST',
    source: 'RFC 9112 §6.1',
    label: 'HTTP/1.0 POST with Transfer-Encoding: chunked and Connection: keep-alive',
    request: (ep) =>
      rfcRequest(
        ep,
        'POST',
        [
          ['Transfer-Encoding', 'chunked'],
          ['Connection', 'keep-alive'],
        ],
        HELLO,
        'HTTP/1.0',
      ),
    acceptance: {
      ...unframeable,
      serve: { expect: 'whatever framing the server chose', judge: () => null },
      closeAfterServe: true,
    },
  }),
];
