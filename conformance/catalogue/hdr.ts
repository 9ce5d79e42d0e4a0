/**
 * HDR: the request head. Django's WSGIRequestHandler.get_environ drops every header whose name holds an underscore;
 * http.client.parse_headers caps a header line at 65536 bytes (_MAXLINE) and the head at 100 lines (_MAXHEADERS),
 * the blank line that ends it included.
 */
import {
  bodyRead,
  defineCheck,
  describeClose,
  describeResponse,
  environOf,
  filler,
  headerLineOfLength,
  isClosed,
  isServed,
  Judgement,
  onlyResponse,
  type Outcome,
  probeReport,
  requestFor,
  show,
  type Trial,
} from './check-kit.ts';
import type { Endpoint } from '../wire/types.ts';
import type { Requirement } from './types.ts';

/** http.client's _MAXLINE: the longest header line served, CRLF included. */
export const MAX_HEADER_LINE = 65536;
/** http.client's _MAXHEADERS counts the blank line too: 99 header lines are the most served. */
export const MAX_HEADER_LINES = 99;

/** A request whose longest header line, CRLF included, is `length` bytes. */
export function requestWithHeaderLineOf(ep: Endpoint, length: number, method = 'GET'): Buffer {
  return requestFor(ep, '/h1spec-long-header', { method, headers: [headerLineOfLength('X-Long', length)] });
}

/** A request with exactly `count` header lines (Host and Connection among them). */
export function requestWithHeaderLines(ep: Endpoint, count: number, method = 'GET', target = '/h1spec-many-headers'): Buffer {
  return requestFor(ep, target, { method, headers: filler(count - 2) });
}

/** `served` must be served; `refused` must get 431 (with `reason` when given) with a status line, then the close. */
async function limitBoundary(t: Trial, served: [string, Buffer], refused: [string, Buffer], reason?: string): Promise<Outcome> {
  const judgement = new Judgement();
  const [servedLabel, servedBytes] = served;
  const servedResponse = onlyResponse(await t.exchange(servedLabel, servedBytes, { methods: ['GET'] }), servedLabel);
  judgement.expect(isServed(servedResponse), `${servedLabel}: ${describeResponse(servedResponse)}`, 'the request served');
  const [refusedLabel, refusedBytes] = refused;
  const conversation = await t.exchange(refusedLabel, refusedBytes, { methods: ['GET'] });
  const response = onlyResponse(conversation, refusedLabel);
  const wanted = `HTTP/1.1 431${reason ? ` ${reason}` : ''} with headers, then close`;
  judgement.expect(
    response.kind === 'status' && response.status === 431 && (reason === undefined || response.reason === reason) && isClosed(conversation.close),
    `${refusedLabel}: ${describeResponse(response)}, then ${describeClose(conversation.close)}`,
    wanted,
  );
  return judgement.outcome();
}

/** Values that mark the underscore headers, so any trace of them anywhere in the environ is found. */
const MARK = 'from-an-underscore-header';

export const headerRequirements: Requirement[] = [
  {
    id: 'HDR-UNDERSCORE-STRIP',
    title: 'Headers whose names contain "_" do not reach the environ',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: 'Django 3.2 django/core/servers/basehttp.py WSGIRequestHandler.get_environ (CVE-2015-0219)',
    needs: { probe: true },
    check: defineCheck(
      'the request is served; HTTP_X_FOO is "a" (from X-Foo alone, nothing of X_Foo merged in); no environ value carries anything of X_Foo, X_Only or Content_Type; no HTTP_CONTENT_TYPE or HTTP_CONTENT_LENGTH; CONTENT_TYPE and CONTENT_LENGTH come from the dashed Content-Type and Content-Length only; the body read is the 3 bytes Content-Length announced',
      async (t) => {
        const bytes = requestFor(t.endpoint, '/h1spec-underscore', {
          method: 'POST',
          headers: [
            ['X-Foo', 'a'],
            ['X_Foo', `${MARK}-b`],
            ['X_Only', `${MARK}-c`],
            ['Content-Type', 'text/h1spec-real'],
            ['Content_Type', `${MARK}/d`],
            ['Content-Length', '3'],
            // Smaller than the body, so a server that takes it for Content-Length still answers (reading 1 byte).
            ['Content_Length', '1'],
          ],
          body: 'abc',
        });
        const report = await probeReport(t, 'POST with underscore headers', bytes, 'POST');
        const judgement = new Judgement();
        judgement.equal('HTTP_X_FOO', environOf(report, 'HTTP_X_FOO'), 'a');
        const leaks = Object.entries(report.environ).filter(([, value]) => JSON.stringify(value).includes(MARK));
        judgement.expect(leaks.length === 0, leaks.length === 0 ? 'no environ value from an underscore header' : `underscore headers leaked: ${leaks.map(([key, value]) => `${key}=${show(value)}`).join(', ')}`);
        for (const key of ['HTTP_CONTENT_TYPE', 'HTTP_CONTENT_LENGTH']) judgement.equal(key, environOf(report, key), undefined);
        judgement.equal('CONTENT_TYPE', environOf(report, 'CONTENT_TYPE'), 'text/h1spec-real');
        judgement.equal('CONTENT_LENGTH', environOf(report, 'CONTENT_LENGTH'), '3');
        judgement.equal('body read', bodyRead(report).toString('latin1'), 'abc');
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'HDR-LINE-LIMIT',
    title: 'A 65536-byte header line is served; 65537 bytes get 431',
    profiles: ['django'],
    level: 'MUST',
    source: 'CPython 3.11 http/client.py _read_headers (_MAXLINE), via BaseHTTPRequestHandler.parse_request',
    needs: {},
    check: defineCheck(
      'a header line of 65536 bytes (CRLF included) is served; one of 65537 bytes gets HTTP/1.1 431 with headers, then close',
      (t) =>
        limitBoundary(
          t,
          [`header line of ${MAX_HEADER_LINE} bytes`, requestWithHeaderLineOf(t.endpoint, MAX_HEADER_LINE)],
          [`header line of ${MAX_HEADER_LINE + 1} bytes`, requestWithHeaderLineOf(t.endpoint, MAX_HEADER_LINE + 1)],
        ),
    ),
  },
  {
    id: 'HDR-COUNT-LIMIT',
    title: '99 header lines are served; 100 get 431 "Too many headers"',
    profiles: ['django'],
    level: 'MUST',
    source: 'CPython 3.11 http/client.py _read_headers (_MAXHEADERS), via BaseHTTPRequestHandler.parse_request',
    needs: {},
    check: defineCheck('99 header lines are served; 100 get HTTP/1.1 431 Too many headers, then close', (t) =>
      limitBoundary(
        t,
        [`${MAX_HEADER_LINES} header lines`, requestWithHeaderLines(t.endpoint, MAX_HEADER_LINES)],
        [`${MAX_HEADER_LINES + 1} header lines`, requestWithHeaderLines(t.endpoint, MAX_HEADER_LINES + 1)],
        'Too many headers',
      ),
    ),
  },
];
