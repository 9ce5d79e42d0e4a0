/**
 * TLS: a TLS client pointed at the plain-HTTP port. http.server reads the ClientHello as a request line (up to its
 * first LF byte, or to the end when the client half-closes) and answers with a bare 400 "Bad request version";
 * Django's WSGIRequestHandler.log_message recognises the handshake record (\x16\x03) and logs a hint instead of the
 * access line. The hellos are real, produced by Node's TLS client (tls-hello.ts).
 */
import type { Conversation } from '../wire/types.ts';
import {
  bareErrorPage,
  defineCheck,
  describeClose,
  describeResponse,
  fail,
  inconclusive,
  isClosed,
  isServed,
  Judgement,
  logLines,
  pass,
  patienceMs,
  requestFor,
  show,
  showBytes,
} from './check-kit.ts';
import { clientHelloWithLineFeed, clientHelloWithoutLineFeed } from './tls-hello.ts';
import type { Requirement } from './types.ts';

const BAD_VERSION = /^Bad request version \(/;
export const HTTPS_HINT = "You're accessing the development server over HTTPS, but it only supports HTTP.";
/** A TLS handshake record of SSL 3.0 / TLS 1.x, as the start of a request line. */
const HANDSHAKE_RECORD = '\u0016\u0003';

/** What came back on a connection: its bytes, or how it ended when none came. */
function answerOf(conversation: Conversation): string {
  return conversation.received.length > 0 ? showBytes(conversation.received, 60) : `no bytes, ${describeClose(conversation.close)}`;
}

export const tlsRequirements: Requirement[] = [
  {
    id: 'TLS-CLIENTHELLO-400',
    title: 'A TLS ClientHello gets a bare 400 "Bad request version", then close',
    profiles: ['django'],
    level: 'MUST',
    source: 'CPython 3.11 http/server.py BaseHTTPRequestHandler.parse_request, send_error (HTTP/0.9 default version)',
    needs: {},
    check: defineCheck(
      'a real ClientHello holding a LF byte gets, without the client half-closing, the error page with no status line (code 400, message "Bad request version (…)"), then close; one with no LF gets the same once the client half-closes; a plain GET on a new connection is then served',
      async (t) => {
        const judgement = new Judgement();
        const withLf = await clientHelloWithLineFeed();
        const atOnce = await t.exchange(`ClientHello with a LF (${withLf.variant})`, withLf.bytes, { methods: ['GET'] });
        judgement.include(bareErrorPage(atOnce, 400, BAD_VERSION, 'ClientHello with a LF'));
        const withoutLf = await clientHelloWithoutLineFeed();
        const afterHalfClose = await t.exchange(`ClientHello without LF, then half-close (${withoutLf.variant})`, withoutLf.bytes, { methods: ['GET'], halfClose: true });
        judgement.include(bareErrorPage(afterHalfClose, 400, BAD_VERSION, 'ClientHello without LF, half-closed'));
        const next = await t.exchange('GET / on a new connection', requestFor(t.endpoint, '/'), { methods: ['GET'] });
        judgement.expect(isServed(next.responses[0]), `then a new connection got ${describeResponse(next.responses[0])}`, 'a served request');
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'TLS-LOG',
    title: 'A ClientHello logs the "code 400" line and the HTTPS hint, no access line',
    profiles: ['django'],
    level: 'MUST',
    source: 'Django 3.2 django/core/servers/basehttp.py WSGIRequestHandler.log_message',
    needs: { log: true },
    check: defineCheck(
      `for a ClientHello the log holds "code 400, message Bad request version (…)", then "${HTTPS_HINT}", and no access line for the hello's request line`,
      async (t) => {
        const hello = await clientHelloWithLineFeed();
        await t.exchange(`ClientHello with a LF (${hello.variant})`, hello.bytes, { methods: ['GET'] });
        const lines = await logLines(t);
        const codeLine = lines.findIndex((line) => line.message.startsWith('code 400, message Bad request version ('));
        const hintLine = lines.findIndex((line, i) => i > codeLine && line.message.startsWith(HTTPS_HINT));
        const accessLine = lines.find((line) => line.message.startsWith(`"${HANDSHAKE_RECORD}`));
        const judgement = new Judgement();
        judgement.expect(codeLine >= 0, codeLine >= 0 ? `logged ${show(lines[codeLine]!.message)}` : 'no "code 400, message Bad request version" line', 'that line');
        judgement.expect(codeLine >= 0 && hintLine > codeLine, hintLine > codeLine ? 'then the HTTPS hint' : 'no HTTPS hint after it', 'the HTTPS hint after it');
        judgement.expect(accessLine === undefined, accessLine ? `an access line: ${JSON.stringify(accessLine.raw)}` : 'no access line', 'no access line');
        if (lines.length === 0) judgement.expect(false, 'the log was empty', 'log lines');
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'TLS-PROMPT',
    title: 'A ClientHello is answered without waiting for a LF or a half-close',
    profiles: ['rfc'],
    level: 'SHOULD',
    source: 'RFC 9112 §2.2, §3 (a ClientHello is not a valid request line and can be rejected as soon as it arrives)',
    needs: {},
    check: defineCheck(
      'a ClientHello with no LF byte, the client neither sending more nor half-closing, is answered (any bytes) or the connection closed promptly; a server that answers only once a line end (CRLF CRLF) follows fails',
      async (t) => {
        const hello = await clientHelloWithoutLineFeed();
        const connection = await t.connect(`ClientHello without LF (${hello.variant})`);
        await connection.write(hello.bytes, t.deadline());
        const window = patienceMs(t);
        await connection.readResponses(['GET'], 1, t.deadline(window));
        const prompt = connection.conversation();
        if (prompt.received.length > 0 || isClosed(prompt.close)) return pass(`within ${window} ms: ${answerOf(prompt)}`);
        // CRLF CRLF ends a line for a server that reads lines, and a head for one that waits for the blank line.
        await connection.write('\r\n\r\n', t.deadline());
        await connection.readResponses([], 1, t.deadline());
        const later = connection.conversation();
        if (later.received.length > 0 || isClosed(later.close)) {
          return fail(`nothing for ${window} ms; once CRLF CRLF was sent: ${answerOf(later)} (the server waited for a line)`);
        }
        return inconclusive(`no answer to the hello, neither within ${window} ms nor after CRLF CRLF`);
      },
    ),
  },
];
