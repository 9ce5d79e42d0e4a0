/**
 * ERR: responses the server makes of errors. http.server's send_error writes 414 and 431 (after a version was
 * accepted, so with a status line); wsgiref's BaseHandler.handle_error/error_output turns an application's exception
 * into a 500 while the headers are unsent, and can only cut the response short once they are out.
 */
import type { Conversation, ParsedResponse } from '../wire/types.ts';
import {
  decide,
  defineCheck,
  describeClose,
  describeResponse,
  fail,
  headerValue,
  isClosed,
  isErrorResponse,
  isServed,
  Judgement,
  notApplicable,
  onlyResponse,
  parseErrorPage,
  pass,
  reportIn,
  requestFor,
  show,
  showBytes,
  type Trial,
} from './check-kit.ts';
import { MAX_HEADER_LINE, requestWithHeaderLineOf, requestWithHeaderLines } from './hdr.ts';
import type { Requirement } from './types.ts';
import { MAX_REQUEST_LINE, requestWithLineOf } from './uri.ts';

const SEND_ERROR = 'CPython 3.11 http/server.py BaseHTTPRequestHandler.send_error';
const APP_ERROR_BODY = 'A server error occurred.  Please contact the administrator.';
/** The IMF-fixdate of RFC 9110 §5.6.7, as email.utils.formatdate(usegmt=True) writes it. */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * How many status lines the bytes hold: a second one means a second response was started. Searched anywhere, since a
 * second status line would follow a cut body with no line break before it.
 */
function statusLineCount(received: Buffer): number {
  return received.toString('latin1').match(/HTTP\/\d\.\d \d{3}[ \r]/g)?.length ?? 0;
}

/** The bytes that followed a HEAD response's head; empty when it had no content. */
function afterHead(conversation: Conversation, head: ParsedResponse): Buffer {
  return conversation.received.subarray(head.raw.length);
}

async function serverErrorFormat(t: Trial, label: string, bytes: Buffer, code: number): Promise<ParsedResponse> {
  const conversation = await t.exchange(label, bytes, { methods: ['GET'] });
  const response = onlyResponse(conversation, label);
  if (response.kind !== 'status' || response.status !== code) decide(fail(`${label}: ${describeResponse(response)}; expected a ${code} with a status line`));
  return response;
}

export const errorRequirements: Requirement[] = [
  {
    id: 'ERR-FORMAT',
    title: "Server-generated errors carry http.server's headers, in order, and the error page",
    profiles: ['django'],
    level: 'MUST',
    source: `${SEND_ERROR}, send_response, version_string`,
    needs: {},
    check: defineCheck(
      'the 414 (request line over 65536 bytes) and the 431 (100 header lines) each carry exactly, in this order: Server "WSGIServer/0.2 Python/3.x.y", Date (IMF-fixdate), Connection "close", Content-Type "text/html;charset=utf-8", Content-Length equal to the body; the body is the error page with the same code',
      async (t) => {
        const judgement = new Judgement();
        const cases: Array<[string, Buffer, number]> = [
          [`${MAX_REQUEST_LINE + 1}-byte request line`, requestWithLineOf(t.endpoint, MAX_REQUEST_LINE + 1), 414],
          ['100 header lines', requestWithHeaderLines(t.endpoint, 100), 431],
        ];
        for (const [label, bytes, code] of cases) {
          const response = await serverErrorFormat(t, label, bytes, code);
          const names = response.headers.map(([name]) => name);
          judgement.equal(`${code} header names`, names, ['Server', 'Date', 'Connection', 'Content-Type', 'Content-Length']);
          const server = headerValue(response, 'server') ?? '';
          judgement.expect(/^WSGIServer\/0\.2 Python\/3\.\d+\.\d+$/.test(server), `${code} Server ${show(server)}`, '"WSGIServer/0.2 Python/3.x.y"');
          const date = headerValue(response, 'date') ?? '';
          judgement.expect(IMF_FIXDATE.test(date), `${code} Date ${show(date)}`, 'an IMF-fixdate');
          judgement.equal(`${code} Connection`, headerValue(response, 'connection'), 'close');
          judgement.equal(`${code} Content-Type`, headerValue(response, 'content-type'), 'text/html;charset=utf-8');
          judgement.equal(`${code} Content-Length`, headerValue(response, 'content-length'), String(response.body.length));
          judgement.equal(`${code} error page code`, parseErrorPage(response.body)?.code, code);
        }
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'ERR-HEAD-NO-BODY',
    title: 'A server-generated error answering HEAD has no body',
    profiles: ['django', 'rfc'],
    level: 'MUST',
    source: `${SEND_ERROR} (no body for HEAD); RFC 9110 §9.3.2`,
    needs: {},
    check: defineCheck(
      'HEAD with a 65537-byte header line and HEAD with 100 header lines: each error response (status 400 or more) is its head alone, nothing follows it, and the connection closes. A case the server serves is not an error and does not count.',
      async (t) => {
        const judgement = new Judgement();
        const cases: Array<[string, Buffer]> = [
          [`HEAD with a ${MAX_HEADER_LINE + 1}-byte header line`, requestWithHeaderLineOf(t.endpoint, MAX_HEADER_LINE + 1, 'HEAD')],
          ['HEAD with 100 header lines', requestWithHeaderLines(t.endpoint, 100, 'HEAD')],
        ];
        let errors = 0;
        for (const [label, bytes] of cases) {
          const conversation = await t.exchange(label, bytes, { methods: ['HEAD'] });
          const response = conversation.responses[0];
          if (!response || !isErrorResponse(response)) {
            judgement.expect(true, `${label}: not an error here (${describeResponse(response)})`);
            continue;
          }
          errors++;
          const content = afterHead(conversation, response);
          judgement.expect(
            response.kind === 'status' && content.length === 0 && isClosed(conversation.close),
            `${label}: ${describeResponse(response)}, then ${content.length > 0 ? `${content.length} bytes of content: ${showBytes(content)}` : describeClose(conversation.close)}`,
            'the head alone, then close',
          );
        }
        if (errors === 0) return notApplicable(`the server generated neither error: ${judgement.outcome().seen}`);
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'RFC-HEAD-NO-BODY',
    title: 'No response to HEAD carries content',
    profiles: ['rfc'],
    level: 'MUST',
    source: 'RFC 9110 §9.3.2; RFC 9112 §6.3',
    needs: {},
    check: defineCheck(
      "HEAD / followed by a pipelined GET: the HEAD response is its head alone; the next bytes are the GET's status line, or nothing when the server closes after the HEAD",
      async (t) => {
        const bytes = Buffer.concat([requestFor(t.endpoint, '/', { method: 'HEAD', close: false }), requestFor(t.endpoint, '/')]);
        const conversation = await t.exchange('HEAD / + GET / pipelined', bytes, { methods: ['HEAD', 'GET'] });
        const [head, next] = conversation.responses;
        if (!head || head.kind !== 'status') return fail(`HEAD: ${describeResponse(head)}`);
        const rest = afterHead(conversation, head);
        if (rest.length === 0) return pass(`${describeResponse(head)} with no content, then ${describeClose(conversation.close)}`);
        if (next?.kind === 'status' && next.complete) return pass(`${describeResponse(head)} with no content, then the GET's ${describeResponse(next)}`);
        return fail(`${describeResponse(head)}, then content: ${showBytes(rest)}`);
      },
    ),
  },
  {
    id: 'ERR-APP-EXCEPTION',
    title: 'An application that raises before start_response yields the 500 page; the server keeps serving',
    profiles: ['django'],
    level: 'MUST',
    source: 'CPython 3.11 wsgiref/handlers.py BaseHandler.handle_error, error_output',
    needs: { probe: true },
    check: defineCheck(
      `the probe raising before start_response (raise) gets "500 Internal Server Error" with body ${show(APP_ERROR_BODY)} and a Content-Length equal to it; a new connection is then served`,
      async (t) => {
        const conversation = await t.exchange('GET (raise)', requestFor(t.endpoint, '/h1spec-raise', { probeAction: 'raise' }), { methods: ['GET'] });
        const response = onlyResponse(conversation, 'raise');
        const judgement = new Judgement();
        judgement.expect(response.kind === 'status' && response.status === 500 && response.reason === 'Internal Server Error', describeResponse(response), '500 Internal Server Error');
        judgement.equal('body', response.body.toString('latin1'), APP_ERROR_BODY);
        judgement.equal('Content-Length', headerValue(response, 'content-length'), String(Buffer.byteLength(APP_ERROR_BODY)));
        const after = await t.exchange('GET / on a new connection', requestFor(t.endpoint, '/'), { methods: ['GET'] });
        judgement.expect(isServed(after.responses[0]), `then a new connection got ${describeResponse(after.responses[0])}`, 'a served request');
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'ERR-APP-EXCEPTION-LATE',
    title: 'An application that raises after its headers went out: the response is cut short and the connection closes',
    profiles: ['django'],
    level: 'MUST',
    source: 'CPython 3.11 wsgiref/handlers.py BaseHandler.run, handle_error (headers_sent)',
    needs: { probe: true },
    check: defineCheck(
      'the probe raising after its first body chunk (raise-after-headers): one status line only, a body cut short (incomplete by its framing, or not the whole report), then the connection closes',
      async (t) => {
        const conversation = await t.exchange('GET (raise-after-headers)', requestFor(t.endpoint, '/h1spec-raise-late', { probeAction: 'raise-after-headers', close: false }), {
          methods: ['GET'],
        });
        const response = conversation.responses[0];
        const judgement = new Judgement();
        const statusLines = statusLineCount(conversation.received);
        judgement.expect(statusLines === 1, `${statusLines} status line(s) in ${conversation.received.length} bytes`, 'exactly one');
        const whole = reportIn(response) !== null;
        judgement.expect(response !== undefined && !whole, `${describeResponse(response)}${whole ? ' with the whole report' : `, body cut at ${response?.body.length ?? 0} bytes`}`, 'a body cut short');
        judgement.expect(isClosed(conversation.close), describeClose(conversation.close), 'close');
        return judgement.outcome();
      },
    ),
  },
];
