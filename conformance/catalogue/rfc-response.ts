/**
 * RFC 9112 §4, §6 and RFC 9110 §6.6.1, §8.6, §15: what the server's responses must look like, whatever the
 * application does. The probe's `status:` and `no-length` actions make the application answer 204, 304 or without a
 * length; the server must still frame the response as the RFC says.
 */
import { PROBE_ACTION_HEADER } from '../probes/contract.ts';
import type { Conversation, ParsedResponse } from '../wire/types.ts';
import {
  describeResponse,
  fail,
  headerValue,
  headerValues,
  Judgement,
  onlyResponse,
  pass,
  requestFor,
  show,
  showBytes,
  type RequestShape,
  type Trial,
} from './check-kit.ts';
import { RFC_PATH, rfcRequirement } from './rfc-kit.ts';
import type { Requirement } from './types.ts';

/** RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ], reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ). */
const STATUS_LINE = /^HTTP\/1\.\d [1-5]\d\d [\t\x20-\x7e\x80-\xff]*\r\n/;
/** RFC 9110 §5.6.7: IMF-fixdate, the form a sender generates. */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** One request with Connection: close; the whole conversation, which ends when the server closes. */
async function closedExchange(t: Trial, label: string, shape: RequestShape): Promise<Conversation> {
  return t.exchange(label, requestFor(t.endpoint, RFC_PATH, shape), { methods: [shape.method ?? 'GET'] });
}

/** A response whose status the application chose, with nothing after it until the close (no content, no stray bytes). */
function noContent(status: number, source: string, id: string): Requirement {
  return rfcRequirement({
    id,
    title: `A ${status} response carries no content, whatever the application writes`,
    level: 'MUST',
    source,
    needs: { probe: true },
    expected: `the application answers ${status} with a body: the response ends with its header section (no content, no bytes after it)`,
    run: async (t) => {
      const conversation = await closedExchange(t, `GET with ${PROBE_ACTION_HEADER}: status:${status}`, { probeAction: `status:${status}` });
      const response = onlyResponse(conversation, `the ${status} response`);
      if (response.status !== status) return fail(`expected the application's ${status}, got ${describeResponse(response)}`);
      return pass(`${describeResponse(response)} and nothing after its header section`);
    },
  });
}

/** Each response's status line, as sent. */
function statusLineOf(response: ParsedResponse): string {
  const end = response.raw.indexOf('\r\n');
  return response.raw.subarray(0, end < 0 ? response.raw.length : end + 2).toString('latin1');
}

function hasValidStatusLine(judgement: Judgement, label: string, response: ParsedResponse): void {
  const line = statusLineOf(response);
  judgement.expect(response.kind === 'status' && STATUS_LINE.test(line), `${label}: ${showBytes(Buffer.from(line, 'latin1'), 80)}`, 'HTTP/1.x, a 3-digit status, SP, a reason phrase, CRLF');
}

export const rfcResponseRequirements: Requirement[] = [
  rfcRequirement({
    id: 'RFC-RESP-STATUS-LINE',
    title: 'Every response starts with a valid status line',
    level: 'MUST',
    source: 'RFC 9112 §4',
    expected: 'for an HTTP/1.1 and an HTTP/1.0 GET: "HTTP/1.x", SP, three digits, SP, a reason phrase of visible characters, CRLF',
    run: async (t) => {
      const judgement = new Judgement();
      for (const version of ['HTTP/1.1', 'HTTP/1.0']) {
        const label = `${version} GET`;
        const conversation = await closedExchange(t, label, { version });
        hasValidStatusLine(judgement, label, onlyResponse(conversation, label));
      }
      return judgement.outcome();
    },
  }),
  rfcRequirement({
    id: 'RFC-RESP-CONTENT-LENGTH',
    title: 'A response\'s Content-Length is the length of its content',
    level: 'MUST',
    source: 'RFC 9110 §8.6; RFC 9112 §6.3',
    expected: 'a GET answered with Connection: close: exactly Content-Length bytes of content, then the close',
    run: async (t) => {
      const conversation = await closedExchange(t, 'GET with Connection: close', {});
      const response = onlyResponse(conversation, 'the response');
      const declared = headerValue(response, 'content-length');
      if (declared === undefined) return pass(`${describeResponse(response)}: no Content-Length to check`);
      if (!response.complete || response.framingError) {
        return fail(`${describeResponse(response)}: ${response.framingError ?? `only ${response.body.length} bytes of content before the close`}`);
      }
      return pass(`${describeResponse(response)}: ${response.body.length} bytes of content, then the close`);
    },
  }),
  noContent(204, 'RFC 9110 §15.3.5', 'RFC-RESP-204-NO-CONTENT'),
  noContent(304, 'RFC 9110 §15.4.5', 'RFC-RESP-304-NO-CONTENT'),
  rfcRequirement({
    id: 'RFC-RESP-204-NO-CONTENT-LENGTH',
    title: 'A 204 response carries no Content-Length, even when the application sets one',
    level: 'MUST',
    source: 'RFC 9110 §8.6',
    needs: { probe: true },
    expected: 'the application answers 204 with a Content-Length: the response has no Content-Length field',
    run: async (t) => {
      const conversation = await closedExchange(t, `GET with ${PROBE_ACTION_HEADER}: status:204`, { probeAction: 'status:204' });
      const response = conversation.responses[0];
      if (!response || response.status !== 204) return fail(`expected the application's 204, got ${describeResponse(response)}`);
      const lengths = headerValues(response, 'content-length');
      if (lengths.length > 0) return fail(`${describeResponse(response)} with Content-Length ${lengths.map((v) => show(v)).join(', ')}`);
      return pass(`${describeResponse(response)} without Content-Length`);
    },
  }),
  rfcRequirement({
    id: 'RFC-RESP-DATE',
    title: 'An origin server sends Date in its 2xx and 4xx responses',
    level: 'MUST',
    source: 'RFC 9110 §6.6.1, §5.6.7',
    expected: 'a Date field in IMF-fixdate form on a 2xx response, and on a 4xx one (when the probe can produce it)',
    run: async (t) => {
      const judgement = new Judgement();
      const cases: Array<[string, RequestShape]> = [['GET', {}]];
      if (t.ctx.probe) cases.push([`GET with ${PROBE_ACTION_HEADER}: status:404`, { probeAction: 'status:404' }]);
      for (const [label, shape] of cases) {
        const response = onlyResponse(await closedExchange(t, label, shape), label);
        const date = headerValue(response, 'date');
        judgement.expect(date !== undefined && IMF_FIXDATE.test(date), `${label}: ${describeResponse(response)} with Date ${show(date)}`, 'an IMF-fixdate Date');
      }
      return judgement.outcome();
    },
  }),
  rfcRequirement({
    id: 'RFC-RESP-NO-TE-HTTP10',
    title: 'A response to an HTTP/1.0 request is not sent with Transfer-Encoding',
    level: 'MUST',
    source: 'RFC 9112 §6.1',
    needs: { probe: true },
    expected: 'the application answers an HTTP/1.0 request without a length: no Transfer-Encoding (the close ends the content)',
    run: async (t) => {
      const label = `HTTP/1.0 GET with ${PROBE_ACTION_HEADER}: no-length`;
      const response = onlyResponse(await closedExchange(t, label, { version: 'HTTP/1.0', probeAction: 'no-length' }), label);
      const codings = headerValues(response, 'transfer-encoding');
      if (codings.length > 0) return fail(`${describeResponse(response)} with Transfer-Encoding ${show(codings.join(', '))}`);
      return pass(`${describeResponse(response)} without Transfer-Encoding`);
    },
  }),
  rfcRequirement({
    id: 'RFC-RESP-TE-NO-CONTENT-LENGTH',
    title: 'A response with Transfer-Encoding carries no Content-Length',
    level: 'MUST',
    source: 'RFC 9112 §6.2',
    needs: { probe: true },
    expected: 'the application answers an HTTP/1.1 request without a length: if the response has Transfer-Encoding, it has no Content-Length',
    run: async (t) => {
      const label = `HTTP/1.1 GET with ${PROBE_ACTION_HEADER}: no-length`;
      const response = onlyResponse(await closedExchange(t, label, { probeAction: 'no-length' }), label);
      const codings = headerValues(response, 'transfer-encoding');
      const lengths = headerValues(response, 'content-length');
      if (codings.length > 0 && lengths.length > 0) return fail(`${describeResponse(response)} with Transfer-Encoding ${show(codings.join(', '))} and Content-Length ${show(lengths.join(', '))}`);
      return pass(`${describeResponse(response)}${codings.length > 0 ? ' (Transfer-Encoding alone)' : ' (no Transfer-Encoding)'}`);
    },
  }),
];

