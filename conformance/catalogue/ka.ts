/**
 * KA: the keep-alive loop and message framing. Django's WSGIRequestHandler.handle serves requests on a connection
 * until close_connection is set (by parse_request's version and Connection rules, by send_header's `Connection:
 * close`, or by ServerHandler.cleanup_headers), then shuts down its sending side; its LimitedStream discards what the
 * application left unread. Whether a connection is still open is asked with a follow-up request, never waited out.
 */
import type { ParsedResponse } from '../wire/types.ts';
import {
  bareErrorPage,
  bodyRead,
  decide,
  defineCheck,
  describeClose,
  describeResponse,
  environOf,
  fail,
  hasToken,
  headerValue,
  hostOf,
  inconclusive,
  isClosed,
  isErrorResponse,
  isServed,
  Judgement,
  notApplicable,
  onlyResponse,
  pass,
  patienceMs,
  probeReport,
  reportIn,
  requestFor,
  show,
  showBytes,
  type Trial,
  withRequestLine,
} from './check-kit.ts';
import { requestWithHeaderLines } from './hdr.ts';
import { clientHelloWithoutLineFeed } from './tls-hello.ts';
import type { Requirement } from './types.ts';
import { MAX_REQUEST_LINE, requestWithLineOf } from './uri.ts';

const HANDLE = 'Django 3.2 django/core/servers/basehttp.py WSGIRequestHandler.handle';
const CLEANUP_HEADERS = 'Django 3.2 django/core/servers/basehttp.py ServerHandler.cleanup_headers';

/** One request on a fresh connection, then a follow-up request to learn whether the connection is still open. */
async function askStillOpen(t: Trial, label: string, bytes: Buffer, method = 'GET'): Promise<{ response: ParsedResponse; open: boolean; how: string }> {
  const conversation = await t.exchange(label, bytes, { methods: [method], after: 'probe' });
  const response = conversation.responses[0];
  if (!response?.complete) decide(fail(`${label}: ${describeResponse(response)}, ${describeClose(conversation.close)}`));
  const open = conversation.close === 'open';
  return { response, open, how: open ? 'the connection stayed open: a further request on it was answered' : describeClose(conversation.close) };
}

export const keepAliveRequirements: Requirement[] = [
  {
    id: 'KA-HTTP11-PERSIST',
    title: 'An HTTP/1.1 response with a Content-Length leaves the connection open',
    profiles: ['django', 'rfc'],
    level: 'MUST',
    source: `${HANDLE}; RFC 9112 §9.3`,
    needs: { mode: 'threaded' },
    check: defineCheck('GET / HTTP/1.1 without Connection gets a response with Content-Length, and a further request on the same connection is answered', async (t) => {
      const { response, open, how } = await askStillOpen(t, 'GET / HTTP/1.1, then a second request', requestFor(t.endpoint, '/', { close: false }));
      if (headerValue(response, 'content-length') === undefined) return notApplicable(`the response has no Content-Length (${describeResponse(response)})`);
      if (!open) return fail(`${describeResponse(response)}, then ${how}`);
      return pass(`${describeResponse(response)}, then ${how}`);
    }),
  },
  {
    id: 'KA-CONNECTION-CLOSE',
    title: 'Connection: close ends the connection after the response',
    profiles: ['django', 'rfc'],
    level: 'MUST',
    source: 'CPython 3.11 http/server.py BaseHTTPRequestHandler.parse_request; RFC 9112 §9.6',
    needs: {},
    check: defineCheck('the request with Connection: close is answered, then the connection closes; the request pipelined behind it gets nothing', async (t) => {
      const bytes = Buffer.concat([requestFor(t.endpoint, '/h1spec-first'), requestFor(t.endpoint, '/h1spec-second', { close: false })]);
      const conversation = await t.exchange('GET (Connection: close) + GET pipelined', bytes, { methods: ['GET'], after: 'probe' });
      const response = onlyResponse(conversation, 'the request with Connection: close');
      if (!response.complete) return fail(`${describeResponse(response)}, ${describeClose(conversation.close)}`);
      const extra = conversation.received.subarray(response.raw.length);
      if (extra.length > 0) return fail(`after ${describeResponse(response)} the server sent more: ${showBytes(extra)}`);
      if (!isClosed(conversation.close)) return fail(`${describeResponse(response)}, then ${describeClose(conversation.close)}`);
      return pass(`${describeResponse(response)}, then ${describeClose(conversation.close)}; the pipelined request got nothing`);
    }),
  },
  {
    id: 'KA-HTTP10-CLOSE',
    title: 'HTTP/1.0 without keep-alive: response, then close',
    profiles: ['django', 'rfc'],
    level: 'MUST',
    source: 'CPython 3.11 http/server.py BaseHTTPRequestHandler.parse_request; RFC 9112 §9.3',
    needs: {},
    check: defineCheck('GET / HTTP/1.0 without Connection is answered, then the connection closes', async (t) => {
      const { response, open, how } = await askStillOpen(t, 'GET / HTTP/1.0, then a second request', requestFor(t.endpoint, '/', { version: 'HTTP/1.0', close: false }));
      if (open) return fail(`${describeResponse(response)}, then ${how}`);
      return pass(`${describeResponse(response)}, then ${how}`);
    }),
  },
  {
    id: 'KA-HTTP10-KEEPALIVE',
    title: 'HTTP/1.0 with Connection: keep-alive stays open on a threaded server',
    profiles: ['django'],
    level: 'MAY',
    source: 'CPython 3.11 http/server.py BaseHTTPRequestHandler.parse_request; Django 3.2 ServerHandler.cleanup_headers',
    needs: { mode: 'threaded' },
    check: defineCheck('GET / HTTP/1.0 with Connection: keep-alive gets a response with no Connection header, and a further request on the connection is answered', async (t) => {
      const bytes = requestFor(t.endpoint, '/', { version: 'HTTP/1.0', headers: [['Connection', 'keep-alive']], close: false });
      const { response, open, how } = await askStillOpen(t, 'GET / HTTP/1.0 keep-alive, then a second request', bytes);
      const judgement = new Judgement();
      judgement.equal('the response\'s Connection header', headerValue(response, 'connection'), undefined);
      judgement.expect(open, how, 'the connection kept open');
      return judgement.outcome();
    }),
  },
  {
    id: 'KA-NO-LENGTH-CLOSE',
    title: 'A response without Content-Length carries Connection: close and ends the connection',
    profiles: ['django'],
    level: 'MUST',
    source: CLEANUP_HEADERS,
    needs: { probe: true },
    check: defineCheck(
      'the probe answering without Content-Length (no-length): the response carries Connection: close and no Content-Length, its body (the whole report) runs to the close, and the connection closes: a request pipelined behind it gets nothing',
      async (t) => {
        const bytes = Buffer.concat([requestFor(t.endpoint, '/h1spec-no-length', { probeAction: 'no-length', close: false }), requestFor(t.endpoint, '/h1spec-after-no-length')]);
        const conversation = await t.exchange('GET (no-length) + GET pipelined', bytes, { methods: ['GET', 'GET'] });
        const response = onlyResponse(conversation, 'no-length response');
        const judgement = new Judgement();
        judgement.equal('Content-Length', headerValue(response, 'content-length'), undefined);
        judgement.expect(hasToken(response, 'connection', 'close'), `Connection ${show(headerValue(response, 'connection'))}`, '"close"');
        // A close-delimited body runs to the close, so an answer to the pipelined request would end up inside it.
        judgement.expect(
          reportIn(response) !== null && isClosed(conversation.close),
          reportIn(response) ? `the report alone, then ${describeClose(conversation.close)}` : `a body that is not the report alone: ${showBytes(response.body.subarray(-80))}`,
          'the report, then close',
        );
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'KA-SERIAL-CLOSE',
    title: 'Without threading every response carries Connection: close, then the server closes',
    profiles: ['django'],
    level: 'MUST',
    source: CLEANUP_HEADERS,
    needs: { mode: 'serial' },
    check: defineCheck('GET / HTTP/1.1 and GET / HTTP/1.0 with Connection: keep-alive each get a response with Connection: close, then the connection closes', async (t) => {
      const judgement = new Judgement();
      const cases: Array<[string, Buffer]> = [
        ['GET / HTTP/1.1', requestFor(t.endpoint, '/', { close: false })],
        ['GET / HTTP/1.0 keep-alive', requestFor(t.endpoint, '/', { version: 'HTTP/1.0', headers: [['Connection', 'keep-alive']], close: false })],
      ];
      for (const [label, bytes] of cases) {
        const { response, open, how } = await askStillOpen(t, `${label}, then a second request`, bytes);
        judgement.expect(hasToken(response, 'connection', 'close') && !open, `${label}: Connection ${show(headerValue(response, 'connection'))}, then ${how}`, 'Connection: close, then close');
      }
      return judgement.outcome();
    }),
  },
  {
    id: 'KA-PIPELINE',
    title: 'Requests sent back to back in one write are all answered, in order',
    profiles: ['django', 'rfc'],
    level: 'MUST',
    source: `${HANDLE}; RFC 9112 §9.3.2`,
    needs: { mode: 'threaded' },
    check: defineCheck('three requests written at once get three complete responses, in the order sent (with the probe: each report names its own path)', async (t) => {
      const paths = ['/h1spec-pipeline-1', '/h1spec-pipeline-2', '/h1spec-pipeline-3'];
      const bytes = Buffer.concat(paths.map((path, i) => requestFor(t.endpoint, path, { close: i === paths.length - 1 })));
      const conversation = await t.exchange('three GETs in one write', bytes, { methods: paths.map(() => 'GET'), after: 'none' });
      const judgement = new Judgement();
      paths.forEach((path, i) => {
        const response = conversation.responses[i];
        const report = reportIn(response);
        const pathSeen = report ? environOf(report, 'PATH_INFO') : undefined;
        const inOrder = !t.ctx.probe || pathSeen === path;
        judgement.expect(
          response?.kind === 'status' && response.complete && inOrder,
          `response ${i + 1}: ${describeResponse(response)}${t.ctx.probe ? ` for PATH_INFO ${show(pathSeen)}` : ''}`,
          `a complete response${t.ctx.probe ? ` for ${path}` : ''}`,
        );
      });
      return judgement.outcome();
    }),
  },
  {
    id: 'KA-UNREAD-BODY',
    title: 'Body bytes the application did not read are discarded; the next request starts right after the body',
    profiles: ['django'],
    level: 'MUST',
    source: 'Django 3.2 django/core/servers/basehttp.py ServerHandler.close (LimitedStream._read_limited)',
    needs: { probe: true, mode: 'threaded' },
    check: defineCheck(
      'POST with Content-Length 5 and body `helloEXTRA` (the probe reads none of it: read:0), then `GET /after`: the first report read 0 bytes; the next request starts right after `hello`, so its method is `EXTRAGET` and its path `/after`',
      async (t) => {
        const first = requestFor(t.endpoint, '/h1spec-unread', { method: 'POST', headers: [['Content-Length', '5']], probeAction: 'read:0', close: false, body: 'helloEXTRA' });
        const second = requestFor(t.endpoint, '/after');
        const conversation = await t.exchange('POST (unread body) + GET', Buffer.concat([first, second]), { methods: ['POST', 'GET'], after: 'none' });
        const [firstReport, secondReport] = [reportIn(conversation.responses[0]), reportIn(conversation.responses[1])];
        const judgement = new Judgement();
        judgement.expect(firstReport !== null, `first response: ${describeResponse(conversation.responses[0])}`, 'a probe report');
        if (firstReport) judgement.equal('body read by the first request', bodyRead(firstReport).toString('latin1'), '');
        judgement.expect(secondReport !== null, `second response: ${describeResponse(conversation.responses[1])}`, 'a probe report');
        if (secondReport) {
          judgement.equal('second REQUEST_METHOD', environOf(secondReport, 'REQUEST_METHOD'), 'EXTRAGET');
          judgement.equal('second PATH_INFO', environOf(secondReport, 'PATH_INFO'), '/after');
        }
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'KA-CHUNKED-IGNORED',
    title: 'Transfer-Encoding: chunked is ignored; Content-Length frames the body',
    profiles: ['django'],
    level: 'MUST',
    source: 'Django 3.2 django/core/servers/basehttp.py WSGIRequestHandler.get_environ, ServerHandler (LimitedStream)',
    needs: { probe: true },
    check: defineCheck(
      'a chunked POST without Content-Length reaches the application with CONTENT_LENGTH "" and an empty body; threaded, the chunk bytes are then read as the next request (a bare 400 error page for `5`) and the connection closes; serial, the connection closes after the first response. With both Content-Length 15 and chunked, the application reads the 15 raw bytes.',
      async (t) => {
        const chunked = '5\r\nhello\r\n0\r\n\r\n';
        const judgement = new Judgement();
        const threaded = t.ctx.mode === 'threaded';
        const bytes = requestFor(t.endpoint, '/h1spec-chunked', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']], close: false, body: chunked });
        const conversation = await t.exchange('chunked POST', bytes, { methods: threaded ? ['POST', 'GET'] : ['POST'] });
        const report = reportIn(conversation.responses[0]);
        if (!report) return fail(`chunked POST: ${describeResponse(conversation.responses[0])}; expected the probe's report`);
        judgement.equal('CONTENT_LENGTH', environOf(report, 'CONTENT_LENGTH'), '');
        judgement.equal('body read', bodyRead(report).toString('latin1'), '');
        if (threaded) {
          judgement.include(bareErrorPage({ ...conversation, responses: conversation.responses.slice(1) }, 400, "Bad request syntax ('5')", 'the chunk bytes as a request'));
        } else {
          const rest = conversation.received.subarray(conversation.responses[0]!.raw.length);
          judgement.expect(rest.length === 0 && isClosed(conversation.close), `after the response: ${showBytes(rest)}, ${describeClose(conversation.close)}`, 'nothing more, then close');
        }
        const both = requestFor(t.endpoint, '/h1spec-chunked-length', {
          method: 'POST',
          headers: [['Content-Length', String(chunked.length)], ['Transfer-Encoding', 'chunked']],
          body: chunked,
        });
        const bothReport = await probeReport(t, 'POST with Content-Length and chunked', both, 'POST');
        judgement.equal('body read with both headers', bodyRead(bothReport).toString('latin1'), chunked);
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'KA-ERROR-CLOSE',
    title: 'Every error the server generates itself ends the connection',
    profiles: ['django', 'rfc'],
    level: 'MUST',
    source: 'CPython 3.11 http/server.py BaseHTTPRequestHandler.send_error; RFC 9112 §9.6',
    needs: {},
    check: defineCheck(
      'after each server-generated error (bad version, unsupported version, request line over 65536 bytes, 100 header lines) nothing more is sent and the connection closes: the request pipelined behind it gets no answer. A case the server serves instead is not an error and does not count.',
      async (t) => {
        const followUp = requestFor(t.endpoint, '/h1spec-after-error');
        const cases: Array<[string, Buffer]> = [
          ['GET / FOO/1.1', withRequestLine(t.endpoint, 'GET / FOO/1.1')],
          ['GET / HTTP/2.0', withRequestLine(t.endpoint, 'GET / HTTP/2.0')],
          [`${MAX_REQUEST_LINE + 1}-byte request line`, requestWithLineOf(t.endpoint, MAX_REQUEST_LINE + 1)],
          ['100 header lines', requestWithHeaderLines(t.endpoint, 100)],
        ];
        const judgement = new Judgement();
        let errors = 0;
        for (const [label, bytes] of cases) {
          const conversation = await t.exchange(`${label} + GET pipelined`, Buffer.concat([bytes, followUp]), { methods: ['GET', 'GET'] });
          const response = conversation.responses[0];
          if (!response) {
            judgement.expect(isClosed(conversation.close), `${label}: no response, ${describeClose(conversation.close)}`);
            continue;
          }
          if (!isErrorResponse(response)) {
            judgement.expect(true, `${label}: not an error here (${describeResponse(response)})`);
            continue;
          }
          errors++;
          // A bare page runs to the close, so an answer to the follow-up would show up inside it.
          const answeredAfter = conversation.responses.length > 1 || (response.kind === 'bare' && response.body.includes('HTTP/1.'));
          judgement.expect(
            !answeredAfter && isClosed(conversation.close),
            `${label}: ${describeResponse(response)}, then ${answeredAfter ? `the follow-up was answered too: ${showBytes(conversation.received.subarray(response.raw.length))}` : describeClose(conversation.close)}`,
            'nothing after the error, then close',
          );
        }
        if (errors === 0) return notApplicable(`the server generated none of the errors: ${judgement.outcome().seen}`);
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'KA-SERIAL-HOLD',
    title: 'Without threading, an unfinished request line holds every other client',
    profiles: ['django'],
    level: 'MAY',
    source: 'CPython 3.11 socketserver.py TCPServer (serve_forever, one request at a time); Django 3.2 runserver --nothreading',
    needs: { mode: 'serial', exclusive: true },
    check: defineCheck(
      'while a first client has sent a TLS ClientHello with no LF (no complete request line), a second client\'s complete GET is not answered; once the first client half-closes, it gets its answer and then the second client is answered',
      async (t) => {
        const hello = await clientHelloWithoutLineFeed();
        const holder = await t.connect(`A: TLS ClientHello without LF (${hello.variant})`);
        await holder.write(hello.bytes, t.deadline());
        const waiter = await t.connect('B: GET / while A holds');
        await waiter.write(requestFor(t.endpoint, '/h1spec-held'), t.deadline());
        const window = patienceMs(t);
        const early = await waiter.readResponses(['GET'], 1, t.deadline(window));
        if (early.length > 0) return fail(`B got ${describeResponse(early[0])} while A's request line was unfinished`);
        holder.endWrite();
        const holderAnswer = await holder.readResponses(['GET'], 1, t.deadline());
        const [late] = await waiter.readResponses([], 1, t.deadline());
        if (!late?.complete) return inconclusive(`B got nothing within ${window} ms while A held, but no complete answer after A half-closed either (${describeResponse(late)})`);
        return pass(`B got nothing for ${window} ms while A held; after A half-closed, A got ${describeResponse(holderAnswer[0])} and B got ${describeResponse(late)}`);
      },
    ),
  },
  {
    id: 'KA-HALF-CLOSE',
    title: 'When the loop ends the server shuts down its sending side',
    profiles: ['django'],
    level: 'SHOULD',
    source: `${HANDLE} (socket.shutdown(SHUT_WR)); CPython 3.11 socketserver.py TCPServer.shutdown_request`,
    needs: {},
    check: defineCheck('after answering a request with Connection: close, the server ends the stream in order (FIN, not a reset) while the client\'s side is still open', async (t) => {
      const conversation = await t.exchange('GET (Connection: close)', requestFor(t.endpoint, '/'), { methods: ['GET'] });
      const response = onlyResponse(conversation, 'GET');
      if (!isServed(response)) return fail(`${describeResponse(response)}; expected the request served`);
      if (conversation.close !== 'eof') return fail(`${describeResponse(response)}, then ${describeClose(conversation.close)}`);
      return pass(`${describeResponse(response)}, then ${describeClose(conversation.close)}`);
    }),
  },
  {
    id: 'KA-EMPTY-LINE',
    title: 'A blank line where a request line is due ends the connection with no response',
    profiles: ['django'],
    level: 'MAY',
    source: 'CPython 3.11 http/server.py BaseHTTPRequestHandler.parse_request (no words: return False)',
    needs: {},
    check: defineCheck('CRLF followed by a valid request: no byte comes back, and the connection closes', async (t) => {
      const bytes = Buffer.from(`\r\nGET / HTTP/1.1\r\nHost: ${hostOf(t.endpoint)}\r\nConnection: close\r\n\r\n`, 'latin1');
      const conversation = await t.exchange('CRLF, then GET /', bytes, { methods: [] });
      if (conversation.received.length > 0) return fail(`the server answered: ${describeResponse(conversation.responses[0])}`);
      if (!isClosed(conversation.close)) return fail(`no answer, but ${describeClose(conversation.close)}`);
      return pass(`no answer, then ${describeClose(conversation.close)}`);
    }),
  },
];
