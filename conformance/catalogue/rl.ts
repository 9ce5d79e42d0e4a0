/**
 * RL: the request line, as CPython 3.11's BaseHTTPRequestHandler.parse_request reads it, and what RFC 9112 asks
 * instead. Until parse_request accepts a version, http.server still holds HTTP/0.9 and writes its error page with no
 * status line (a "bare" page).
 */
import {
  bareErrorPage,
  defineCheck,
  describeClose,
  describeResponse,
  environOf,
  fail,
  headerValue,
  hostOf,
  isClosed,
  Judgement,
  parseErrorPage,
  pass,
  reportIn,
  show,
  type Outcome,
  type Trial,
  withRequestLine,
} from './check-kit.ts';
import type { Requirement } from './types.ts';

const PARSE_REQUEST = 'CPython 3.11 http/server.py BaseHTTPRequestHandler.parse_request';

interface BareErrorCase {
  requestLine: string;
  code: number;
  message: string;
}

/** Each line on its own connection must get http.server's error page with no status line, then the close. */
async function bareErrors(t: Trial, cases: readonly BareErrorCase[]): Promise<Outcome> {
  const judgement = new Judgement();
  for (const { requestLine, code, message } of cases) {
    const conversation = await t.exchange(show(requestLine), withRequestLine(t.endpoint, requestLine), { methods: ['GET'] });
    judgement.include(bareErrorPage(conversation, code, message, show(requestLine)));
  }
  return judgement.outcome();
}

/**
 * Real Django 3.2 (and SPEC's correction): more than three words ending in a valid version get a status line, since
 * parse_request had accepted the version before it counted the words.
 */
async function statusLineSyntaxError(t: Trial, requestLine: string): Promise<Outcome> {
  const label = show(requestLine);
  const conversation = await t.exchange(label, withRequestLine(t.endpoint, requestLine), { methods: ['GET'] });
  const response = conversation.responses[0];
  const message = `Bad request syntax ('${requestLine}')`;
  const page = response ? parseErrorPage(response.body) : null;
  const shaped =
    response?.kind === 'status' &&
    response.status === 400 &&
    response.reason === message &&
    headerValue(response, 'connection') === 'close' &&
    page?.code === 400 &&
    page.message === message;
  if (!shaped || !isClosed(conversation.close)) {
    return fail(`${label}: ${describeResponse(response)}, then ${describeClose(conversation.close)}; expected HTTP/1.1 400 ${message} with Connection: close and the error page, then close`);
  }
  return pass(`${label}: status line 400 ${show(message)} with the error page, then ${describeClose(conversation.close)}`);
}

export const requestLineRequirements: Requirement[] = [
  {
    id: 'RL-VERSION-SYNTAX',
    title: 'A third word that is not HTTP/<digits>.<digits> gets a bare 400 "Bad request version"',
    profiles: ['django'],
    level: 'MUST',
    source: PARSE_REQUEST,
    needs: {},
    check: defineCheck(
      "`GET / FOO/1.1` and `GET / HTTP/1` each get http.server's error page with no status line: code 400, message \"Bad request version ('<word>')\", then close",
      (t) =>
        bareErrors(t, [
          { requestLine: 'GET / FOO/1.1', code: 400, message: "Bad request version ('FOO/1.1')" },
          { requestLine: 'GET / HTTP/1', code: 400, message: "Bad request version ('HTTP/1')" },
        ]),
    ),
  },
  {
    id: 'RL-WORD-COUNT',
    title: 'Too many or too few words in the request line get a 400',
    profiles: ['django'],
    level: 'MUST',
    source: PARSE_REQUEST,
    needs: {},
    check: defineCheck(
      "`GET / x y` gets a bare error page 400 \"Bad request version ('y')\" (the last word is taken as the version); `GET` gets a bare 400 \"Bad request syntax ('GET')\"; `GET / x HTTP/1.1` (last word a valid version) gets a status line `HTTP/1.1 400 Bad request syntax ('GET / x HTTP/1.1')` with Connection: close and the error page; each then closes",
      async (t) => {
        const judgement = new Judgement();
        judgement.include(
          await bareErrors(t, [
            { requestLine: 'GET / x y', code: 400, message: "Bad request version ('y')" },
            { requestLine: 'GET', code: 400, message: "Bad request syntax ('GET')" },
          ]),
        );
        judgement.include(await statusLineSyntaxError(t, 'GET / x HTTP/1.1'));
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'RL-VERSION-2',
    title: 'HTTP/2.0 or higher in the request line gets a bare 505',
    profiles: ['django'],
    level: 'MUST',
    source: PARSE_REQUEST,
    needs: {},
    check: defineCheck(
      '`GET / HTTP/2.0` and `GET / HTTP/3.1` get a bare error page 505 "Invalid HTTP version (<n.m>)", then close',
      (t) =>
        bareErrors(t, [
          { requestLine: 'GET / HTTP/2.0', code: 505, message: 'Invalid HTTP version (2.0)' },
          { requestLine: 'GET / HTTP/3.1', code: 505, message: 'Invalid HTTP version (3.1)' },
        ]),
    ),
  },
  {
    id: 'RL-HTTP09',
    title: 'GET with two words is HTTP/0.9: the body alone, no status line',
    profiles: ['django'],
    level: 'MAY',
    source: PARSE_REQUEST,
    needs: {},
    check: defineCheck(
      "`GET /path` answers with the application's body alone (no status line, not an error page), then close; with the probe, its report says SERVER_PROTOCOL HTTP/0.9",
      async (t) => {
        const path = '/h1spec-http09';
        const conversation = await t.exchange(show(`GET ${path}`), Buffer.from(`GET ${path}\r\n\r\n`, 'latin1'), { methods: ['GET'] });
        const response = conversation.responses[0];
        if (!response || response.kind !== 'bare' || response.body.length === 0 || parseErrorPage(response.body)) {
          return fail(`${describeResponse(response)}; expected the application's body with no status line`);
        }
        if (!isClosed(conversation.close)) return fail(`the body came, then ${describeClose(conversation.close)}`);
        const report = reportIn(response);
        if (t.ctx.probe) {
          const protocol = report ? environOf(report, 'SERVER_PROTOCOL') : undefined;
          if (protocol !== 'HTTP/0.9') return fail(`a body with no status line, but not a probe report with SERVER_PROTOCOL "HTTP/0.9" (got ${show(protocol)})`);
        }
        return pass(`${response.body.length} bytes of application body with no status line${report ? ' (the probe saw SERVER_PROTOCOL "HTTP/0.9")' : ''}, then ${describeClose(conversation.close)}`);
      },
    ),
  },
  {
    id: 'RL-HTTP09-METHOD',
    title: 'Two words with a method other than GET get a bare 400',
    profiles: ['django'],
    level: 'MUST',
    source: PARSE_REQUEST,
    needs: {},
    check: defineCheck(
      "`POST /path` and `HEAD /path` get a bare error page 400 \"Bad HTTP/0.9 request type ('<method>')\", then close",
      (t) =>
        bareErrors(t, [
          { requestLine: 'POST /path', code: 400, message: "Bad HTTP/0.9 request type ('POST')" },
          { requestLine: 'HEAD /path', code: 400, message: "Bad HTTP/0.9 request type ('HEAD')" },
        ]),
    ),
  },
  {
    id: 'RFC-RL-ERROR-STATUS',
    title: 'A malformed request line gets a status line (400, or 505 for an unsupported version)',
    profiles: ['rfc'],
    level: 'MUST',
    source: 'RFC 9112 §3, §2.3; RFC 9110 §15.5.1, §15.6.6',
    needs: {},
    check: defineCheck(
      'each malformed request line gets a response that starts with a status line: 400 for any of them; 505 also for the version cases; 301 also for the extra-words case (RFC 9112 §3); nothing before the status line',
      async (t) => {
        const cases: ReadonlyArray<readonly [string, readonly number[]]> = [
          ['GET / FOO/1.1', [400, 505]],
          ['GET / HTTP/1', [400, 505]],
          ['GET / HTTP/2.0', [400, 505]],
          ['GET / x y', [400, 301]],
          ['GET', [400]],
          ['POST /path', [400]],
        ];
        const judgement = new Judgement();
        for (const [requestLine, statuses] of cases) {
          const label = show(requestLine);
          const conversation = await t.exchange(label, withRequestLine(t.endpoint, requestLine), { methods: ['GET'] });
          const response = conversation.responses[0];
          judgement.expect(
            response?.kind === 'status' && statuses.includes(response.status),
            `${label}: ${describeResponse(response)}`,
            `a status line with ${statuses.join(' or ')}`,
          );
        }
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'RFC-EMPTY-LINE',
    title: 'A blank line before the request line is ignored',
    profiles: ['rfc'],
    level: 'SHOULD',
    source: 'RFC 9112 §2.2',
    needs: {},
    check: defineCheck('CRLF then a valid request: the request is answered with a status line', async (t) => {
      const bytes = Buffer.from(`\r\nGET / HTTP/1.1\r\nHost: ${hostOf(t.endpoint)}\r\nConnection: close\r\n\r\n`, 'latin1');
      const conversation = await t.exchange('CRLF, then GET /', bytes, { methods: ['GET'] });
      const response = conversation.responses[0];
      if (response?.kind === 'status' && response.complete) return pass(`the request after the blank line got ${describeResponse(response)}`);
      return fail(`${describeResponse(response)}, ${describeClose(conversation.close)}; expected the request after the blank line to be answered`);
    }),
  },
];
