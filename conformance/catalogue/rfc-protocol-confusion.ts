/**
 * Bytes of other protocols on an HTTP/1.1 port: the HTTP/2 connection preface and the PROXY protocol (v1 text, v2
 * binary). None is an HTTP/1.1 request line (RFC 9112 §3), so none may be processed as one; a request behind a PROXY
 * header must not be reached.
 */
import type { Endpoint } from '../wire/types.ts';
import { fail, pass } from './check-kit.ts';
import { converse, describeAcceptance, judge, rfcRequirement, singleRequestCheck, withLine, type Acceptance } from './rfc-kit.ts';
import type { Requirement } from './types.ts';

/** The HTTP/2 preface and an empty SETTINGS frame, as a prior-knowledge client opens (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
  Buffer.from([0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]),
]);
/** The PROXY protocol v2 signature, then a v2 PROXY command for TCP over IPv4 (192.0.2.1:56324 to 192.0.2.2:80). */
const PROXY_V2 = Buffer.concat([
  Buffer.from('\r\n\r\n\x00\r\nQUIT\n', 'latin1'),
  Buffer.from([0x21, 0x11, 0x00, 0x0c, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0xdc, 0x04, 0x00, 0x50]),
]);
const HTTP2_FRAME_SETTINGS = 0x04;

const notARequest: Acceptance = { reject: [400] };

/**
 * The request behind a PROXY header asks to close, so a server that skips the header and serves it ends the
 * conversation (one response, then the close) instead of waiting for a second request.
 */
function requestBehind(ep: Endpoint): Buffer {
  return withLine(ep, 'GET /h1spec-rfc HTTP/1.1', ['Connection: close']);
}

export const rfcProtocolConfusionRequirements: Requirement[] = [
  rfcRequirement({
    id: 'RFC-H2-PREFACE',
    title: 'The HTTP/2 connection preface is not processed as an HTTP/1.1 request',
    level: 'SHOULD',
    source: 'RFC 9112 §2.3, §3; RFC 9110 §15.6.6',
    expected: `an HTTP/2 SETTINGS frame (the server speaks HTTP/2 with prior knowledge), or ${describeAcceptance({ reject: [400, 505] })}`,
    run: async (t) => {
      const d = await converse(t, 'the HTTP/2 preface and a SETTINGS frame', H2_PREFACE, { methods: ['PRI'] });
      const received = d.conversation.received;
      if (received.length >= 9 && received[3] === HTTP2_FRAME_SETTINGS) return pass('answered with an HTTP/2 SETTINGS frame');
      const outcome = judge(d, { reject: [400, 505] });
      return outcome.verdict === 'pass' || d.answers[0]?.kind !== 'status' ? outcome : fail(`processed as HTTP/1.1: ${outcome.seen}`);
    },
  }),
  singleRequestCheck({
    id: 'RFC-PROXY-V1',
    title: 'A PROXY protocol v1 line is rejected, not skipped to serve the request behind it',
    level: 'SHOULD',
    source: 'RFC 9112 §3',
    label: 'a PROXY v1 line, then GET',
    request: (ep) => Buffer.concat([Buffer.from('PROXY TCP4 192.0.2.1 192.0.2.2 56324 80\r\n', 'latin1'), requestBehind(ep)]),
    options: { methods: ['GET', 'GET'] },
    acceptance: notARequest,
  }),
  singleRequestCheck({
    id: 'RFC-PROXY-V2',
    title: 'A PROXY protocol v2 header is rejected, not skipped to serve the request behind it',
    level: 'SHOULD',
    source: 'RFC 9112 §3, §2.2',
    label: 'a PROXY v2 header, then GET',
    request: (ep) => Buffer.concat([PROXY_V2, requestBehind(ep)]),
    options: { methods: ['GET', 'GET'] },
    acceptance: notARequest,
  }),
];
