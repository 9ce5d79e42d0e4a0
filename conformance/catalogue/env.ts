/**
 * ENV: the environ the application receives, read back through the probe and compared with what SPEC defines for
 * the bytes sent. Django's values come from WSGIServer.setup_environ (bound once at start-up),
 * WSGIRequestHandler.get_environ and wsgiref's BaseHandler/SimpleHandler. Where a row allows other values to a WSGI
 * server (PEP 3333), the check accepts them too and names which one it saw.
 */
import type { ProbeReport } from '../probes/contract.ts';
import {
  askProbe,
  bodyRead,
  defineCheck,
  describeResponse,
  environOf,
  hostOf,
  Judgement,
  localAddressTowards,
  fail,
  pass,
  probeReport,
  requestFor,
  sameAddress,
  show,
  type RequestShape,
  type Trial,
} from './check-kit.ts';
import type { Requirement } from './types.ts';

const SETUP_ENVIRON = 'CPython 3.11 wsgiref/simple_server.py WSGIServer.setup_environ, via Django 3.2 django/core/servers/basehttp.py WSGIServer';
const GET_ENVIRON = 'Django 3.2 django/core/servers/basehttp.py WSGIRequestHandler.get_environ (over CPython 3.11 wsgiref/simple_server.py)';
const HANDLER_ENVIRON = 'CPython 3.11 wsgiref/handlers.py BaseHandler.setup_environ, SimpleHandler; PEP 3333 §environ Variables';

/** The probe's report for one request to `target` (Host first, Connection: close). */
function environFor(t: Trial, label: string, target: string, shape: RequestShape = {}): Promise<ProbeReport> {
  return probeReport(t, label, requestFor(t.endpoint, target, shape), shape.method ?? 'GET');
}

/** One environ key, one request: the check compares it with `wanted`. */
function environValueCheck(key: string, wanted: string, description: string): Requirement['check'] {
  return defineCheck(`${key} is ${show(wanted)} ${description}`, async (t) => {
    const judgement = new Judgement();
    judgement.equal(key, environOf(await environFor(t, 'GET /', '/'), key), wanted);
    return judgement.outcome();
  });
}

/** A Host header naming another host and port than the server's, so values copied from it stand out. */
const FOREIGN_HOST = 'h1spec-foreign-host.example:1';

export const environRequirements: Requirement[] = [
  {
    id: 'ENV-GATEWAY-INTERFACE',
    title: 'GATEWAY_INTERFACE is CGI/1.1',
    profiles: ['django'],
    level: 'MUST',
    source: SETUP_ENVIRON,
    needs: { probe: true },
    check: environValueCheck('GATEWAY_INTERFACE', 'CGI/1.1', 'for any request'),
  },
  {
    id: 'ENV-SERVER-NAME',
    title: 'SERVER_NAME is a non-empty host name',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${SETUP_ENVIRON} (socket.getfqdn of the bind address); PEP 3333`,
    needs: { probe: true },
    check: defineCheck(
      "SERVER_NAME is a non-empty host name: the server's own name (Django: getfqdn of the bind address, whatever Host says) or the Host header's name (another WSGI server's choice)",
      async (t) => {
        const report = await environFor(t, `GET / with Host ${FOREIGN_HOST}`, '/', { host: FOREIGN_HOST });
        const name = environOf(report, 'SERVER_NAME');
        if (typeof name !== 'string' || !/^[A-Za-z0-9._:[\]-]+$/.test(name)) return fail(`SERVER_NAME ${show(name)}, expected a non-empty host name`);
        const fromHost = name === FOREIGN_HOST.split(':')[0];
        return pass(`SERVER_NAME ${show(name)} (${fromHost ? "taken from the Host header, not Django's choice" : "the server's own name, not the Host header's"})`);
      },
    ),
  },
  {
    id: 'ENV-SERVER-PORT',
    title: 'SERVER_PORT is the port the client connected to',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${SETUP_ENVIRON}; PEP 3333`,
    needs: { probe: true },
    check: defineCheck('SERVER_PORT is the decimal port the client connected to, even when the Host header names another port', async (t) => {
      const report = await environFor(t, `GET / with Host ${FOREIGN_HOST}`, '/', { host: FOREIGN_HOST });
      const judgement = new Judgement();
      judgement.equal('SERVER_PORT', environOf(report, 'SERVER_PORT'), String(t.endpoint.port));
      return judgement.outcome();
    }),
  },
  {
    id: 'ENV-SCRIPT-NAME',
    title: 'SCRIPT_NAME is "" (mounted at the root)',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${SETUP_ENVIRON}; PEP 3333`,
    needs: { probe: true },
    check: environValueCheck('SCRIPT_NAME', '', '(the application is mounted at the root)'),
  },
  {
    id: 'ENV-REMOTE-ADDR',
    title: "REMOTE_ADDR is the client's IP address",
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${GET_ENVIRON}; RFC 3875 §4.1.8`,
    needs: { probe: true },
    check: defineCheck("REMOTE_ADDR is the client's IP address (an IPv4 address may appear IPv4-mapped, ::ffff:a.b.c.d)", async (t) => {
      const client = await localAddressTowards(t.endpoint);
      const seen = environOf(await environFor(t, 'GET /', '/'), 'REMOTE_ADDR');
      if (typeof seen === 'string' && sameAddress(seen, client)) return pass(`REMOTE_ADDR ${show(seen)}, the client's address`);
      return fail(`REMOTE_ADDR ${show(seen)}, expected the client's address ${show(client)}`);
    }),
  },
  {
    id: 'ENV-REMOTE-HOST',
    title: 'REMOTE_HOST is "" (no reverse lookup)',
    profiles: ['django'],
    level: 'MUST',
    source: SETUP_ENVIRON,
    needs: { probe: true },
    check: environValueCheck('REMOTE_HOST', '', '(no reverse lookup of the client)'),
  },
  {
    id: 'ENV-CONTENT-LENGTH',
    title: 'Content-Length becomes CONTENT_LENGTH, never HTTP_CONTENT_LENGTH',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${GET_ENVIRON}; PEP 3333; RFC 3875 §4.1.2`,
    needs: { probe: true },
    check: defineCheck(
      'never HTTP_CONTENT_LENGTH; without Content-Length, CONTENT_LENGTH is "" (Django) or absent (PEP 3333); with Content-Length 5 it is "5"; with Content-Length abc it is "abc" (Django: the value as sent) or the request is refused with a 400 status line (RFC 9112 §6.3)',
      async (t) => {
        const judgement = new Judgement();
        const none = await environFor(t, 'GET without Content-Length', '/');
        judgement.oneOf('CONTENT_LENGTH without the header', environOf(none, 'CONTENT_LENGTH'), [['', 'Django'], [undefined, 'absent, as PEP 3333 allows']]);
        const five = await environFor(t, 'POST with Content-Length 5', '/', { method: 'POST', headers: [['Content-Length', '5']], body: 'hello' });
        judgement.equal('CONTENT_LENGTH with Content-Length 5', environOf(five, 'CONTENT_LENGTH'), '5');
        const invalid = await askProbe(t, 'POST with Content-Length abc', requestFor(t.endpoint, '/', { method: 'POST', headers: [['Content-Length', 'abc']] }), 'POST');
        if (invalid.report) {
          judgement.oneOf('CONTENT_LENGTH with Content-Length abc', environOf(invalid.report, 'CONTENT_LENGTH'), [['abc', 'the value as sent, as Django passes it']]);
        } else {
          judgement.expect(invalid.response.kind === 'status' && invalid.response.status === 400, `Content-Length abc: ${describeResponse(invalid.response)}`, 'the probe report or a 400 refusal');
        }
        for (const report of [none, five, invalid.report]) {
          if (report) judgement.equal('HTTP_CONTENT_LENGTH', environOf(report, 'HTTP_CONTENT_LENGTH'), undefined);
        }
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'ENV-CONTENT-TYPE',
    title: 'Content-Type becomes CONTENT_TYPE, never HTTP_CONTENT_TYPE',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${GET_ENVIRON}; PEP 3333; RFC 3875 §4.1.3`,
    needs: { probe: true },
    check: defineCheck(
      'never HTTP_CONTENT_TYPE; with Content-Type, CONTENT_TYPE is its value exactly; without it, CONTENT_TYPE is "text/plain" (Django, wsgiref), "" or absent (PEP 3333)',
      async (t) => {
        const judgement = new Judgement();
        const type = 'application/x-h1spec; charset=latin-1';
        const typed = await environFor(t, `POST with Content-Type ${type}`, '/', { method: 'POST', headers: [['Content-Type', type], ['Content-Length', '0']] });
        judgement.equal('CONTENT_TYPE with the header', environOf(typed, 'CONTENT_TYPE'), type);
        const untyped = await environFor(t, 'GET without Content-Type', '/');
        judgement.oneOf('CONTENT_TYPE without the header', environOf(untyped, 'CONTENT_TYPE'), [
          ['text/plain', "Django's default"],
          ['', 'empty, as PEP 3333 allows'],
          [undefined, 'absent, as PEP 3333 allows'],
        ]);
        for (const report of [typed, untyped]) judgement.equal('HTTP_CONTENT_TYPE', environOf(report, 'HTTP_CONTENT_TYPE'), undefined);
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'ENV-REQUEST-METHOD',
    title: 'REQUEST_METHOD is the method token exactly as sent',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${GET_ENVIRON}; RFC 9110 §9.1 (methods are case-sensitive)`,
    needs: { probe: true },
    check: defineCheck(
      'REQUEST_METHOD is exactly the token sent: `get` stays "get", `PROPFIND` is "PROPFIND"; a server may instead refuse a method it does not implement with 501 or 405 (RFC 9110 §9.1), but not change it',
      async (t) => {
        const judgement = new Judgement();
        for (const method of ['get', 'PROPFIND']) {
          const answer = await askProbe(t, `${method} /`, requestFor(t.endpoint, '/', { method }), method);
          if (answer.report) {
            judgement.equal(`REQUEST_METHOD for ${method}`, environOf(answer.report, 'REQUEST_METHOD'), method);
          } else {
            const refused = answer.response.kind === 'status' && (answer.response.status === 501 || answer.response.status === 405);
            judgement.expect(refused, `${method}: ${describeResponse(answer.response)}${refused ? ' (not implemented)' : ''}`, 'the probe report, or 501/405');
          }
        }
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'ENV-PATH-INFO',
    title: 'PATH_INFO is the percent-decoded path, bytes read as latin-1',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${GET_ENVIRON} (urllib.parse.unquote(path, 'iso-8859-1')); CPython 3.11 http/server.py parse_request (gh-87389); PEP 3333 §Unicode Issues`,
    needs: { probe: true },
    check: defineCheck(
      'PATH_INFO is the target before the first "?", percent-decoded, each byte one latin-1 character: /a%20b/%2F → "/a b//"; raw UTF-8 /caf\\xc3\\xa9 → "/cafÃ©" (or refused with 400, RFC 9112 §3.2); /nul%00byte → "/nul\\u0000byte"; /p?x=%20 → "/p"; //double → "/double" (CPython 3.11 cuts leading slashes to one) or "//double" (kept as sent)',
      async (t) => {
        const judgement = new Judgement();
        const cases: Array<[string, ReadonlyArray<readonly [string, string]>]> = [
          ['/a%20b/%2F', [['/a b//', 'decoded']]],
          ['/caf\u00c3\u00a9', [['/caf\u00c3\u00a9', 'the UTF-8 bytes as latin-1']]],
          ['/nul%00byte', [['/nul\u0000byte', 'the NUL passed through']]],
          ['/p?x=%20', [['/p', 'the part before "?"']]],
          ['//double', [['/double', 'leading slashes cut to one, as CPython 3.11 does'], ['//double', 'kept as sent']]],
        ];
        for (const [target, alternatives] of cases) {
          const answer = await askProbe(t, `GET ${target}`, requestFor(t.endpoint, target));
          if (answer.report) {
            judgement.oneOf(`PATH_INFO for ${show(target)}`, environOf(answer.report, 'PATH_INFO'), alternatives);
          } else {
            // Raw bytes above 0x7f are not allowed in a request-target (RFC 9112 §3.2): refusing them is the RFC's way.
            const refusable = /[^\x21-\x7e]/.test(target);
            const refused = refusable && answer.response.kind === 'status' && answer.response.status === 400;
            judgement.expect(refused, `${show(target)}: ${describeResponse(answer.response)}${refused ? ' (refused: not a valid request-target)' : ''}`, refusable ? 'the probe report, or 400' : 'the probe report');
          }
        }
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'ENV-QUERY-STRING',
    title: 'QUERY_STRING is the raw text after the first "?"',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${GET_ENVIRON}; PEP 3333; RFC 3875 §4.1.7`,
    needs: { probe: true },
    check: defineCheck('QUERY_STRING is the text after the first "?", not decoded (/q?a=%20b&c=d?e → "a=%20b&c=d?e"); "" without a "?" (absent is allowed by PEP 3333)', async (t) => {
      const judgement = new Judgement();
      judgement.equal('QUERY_STRING for /q?a=%20b&c=d?e', environOf(await environFor(t, 'GET /q?a=%20b&c=d?e', '/q?a=%20b&c=d?e'), 'QUERY_STRING'), 'a=%20b&c=d?e');
      judgement.oneOf('QUERY_STRING for /q', environOf(await environFor(t, 'GET /q', '/q'), 'QUERY_STRING'), [['', 'empty'], [undefined, 'absent, as PEP 3333 allows']]);
      return judgement.outcome();
    }),
  },
  {
    id: 'ENV-SERVER-PROTOCOL',
    title: 'SERVER_PROTOCOL is the version token as sent',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${GET_ENVIRON}; PEP 3333; RFC 3875 §4.1.16`,
    needs: { probe: true },
    check: defineCheck('SERVER_PROTOCOL is "HTTP/1.1" for an HTTP/1.1 request and "HTTP/1.0" for an HTTP/1.0 one', async (t) => {
      const judgement = new Judgement();
      for (const version of ['HTTP/1.1', 'HTTP/1.0']) {
        judgement.equal(`SERVER_PROTOCOL for ${version}`, environOf(await environFor(t, `GET / ${version}`, '/', { version }), 'SERVER_PROTOCOL'), version);
      }
      return judgement.outcome();
    }),
  },
  {
    id: 'ENV-HTTP-VARS',
    title: 'Every other header appears as HTTP_<NAME>',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: `${GET_ENVIRON}; CPython 3.11 email feedparser (compat32); PEP 3333; RFC 3875 §4.1.18`,
    needs: { probe: true },
    check: defineCheck(
      'Host → HTTP_HOST, X-H1spec-Name → HTTP_X_H1SPEC_NAME, x-lower-case → HTTP_X_LOWER_CASE, values trimmed; X-Rep sent twice → "one,two" (Django) or "one, two" (RFC 9110 §5.3); an obs-fold value "a\\r\\n  b" → passed through raw (Django), unfolded to "a b"/"a  b" (RFC 9112 §5.2), or the request refused with 400',
      async (t) => {
        const judgement = new Judgement();
        const report = await environFor(t, 'GET with assorted headers', '/', {
          headers: [
            ['X-H1spec-Name', 'value'],
            ['x-lower-case', 'v2'],
            ['X-Pad', '  padded  '],
            ['X-Rep', 'one'],
            ['X-Rep', 'two'],
          ],
        });
        judgement.equal('HTTP_HOST', environOf(report, 'HTTP_HOST'), hostOf(t.endpoint));
        judgement.equal('HTTP_X_H1SPEC_NAME', environOf(report, 'HTTP_X_H1SPEC_NAME'), 'value');
        judgement.equal('HTTP_X_LOWER_CASE', environOf(report, 'HTTP_X_LOWER_CASE'), 'v2');
        judgement.equal('HTTP_X_PAD', environOf(report, 'HTTP_X_PAD'), 'padded');
        judgement.oneOf('HTTP_X_REP', environOf(report, 'HTTP_X_REP'), [['one,two', 'joined with ",", as Django'], ['one, two', 'joined with ", "']]);
        const folded = await askProbe(t, 'GET with an obs-fold header', requestFor(t.endpoint, '/', { headers: [['X-Fold', 'a\r\n  b']] }));
        if (folded.report) {
          judgement.oneOf('HTTP_X_FOLD', environOf(folded.report, 'HTTP_X_FOLD'), [
            ['a\r\n  b', 'passed through raw, as Django'],
            ['a b', 'unfolded'],
            ['a  b', 'unfolded'],
          ]);
        } else {
          judgement.expect(folded.response.kind === 'status' && folded.response.status === 400, `obs-fold: ${describeResponse(folded.response)}`, 'the probe report or a 400 refusal');
        }
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'ENV-WSGI-VARS',
    title: 'The wsgi.* keys are present with their WSGI values',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: HANDLER_ENVIRON,
    needs: { probe: true },
    check: defineCheck(
      'wsgi.version [1,0], wsgi.url_scheme "http", wsgi.run_once false, wsgi.input and wsgi.errors present; wsgi.multithread and wsgi.multiprocess booleans (Django: true and false, even under --nothreading); wsgi.file_wrapper present (Django) or absent (optional in PEP 3333)',
      async (t) => {
        const report = await environFor(t, 'GET /', '/');
        const judgement = new Judgement();
        judgement.equal('wsgi.version', environOf(report, 'wsgi.version'), [1, 0]);
        judgement.equal('wsgi.url_scheme', environOf(report, 'wsgi.url_scheme'), 'http');
        judgement.equal('wsgi.run_once', environOf(report, 'wsgi.run_once'), false);
        for (const key of ['wsgi.input', 'wsgi.errors']) {
          const present = Object.hasOwn(report.objects, key) || Object.hasOwn(report.environ, key);
          judgement.expect(present, `${key} ${present ? `present (${report.objects[key] ?? 'a value'})` : 'absent'}`, 'present');
        }
        const djangoValues: Record<string, boolean> = { 'wsgi.multithread': true, 'wsgi.multiprocess': false };
        for (const [key, django] of Object.entries(djangoValues)) {
          const value = environOf(report, key);
          judgement.oneOf(key, value, [
            [django, "Django's value"],
            [!django, 'a boolean'],
          ]);
        }
        const wrapper = report.objects['wsgi.file_wrapper'];
        judgement.expect(true, `wsgi.file_wrapper ${wrapper === undefined ? 'absent (optional)' : `present (${wrapper})`}`);
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'ENV-SERVER-SOFTWARE',
    title: 'SERVER_SOFTWARE is non-empty',
    profiles: ['django', 'wsgi'],
    level: 'SHOULD',
    source: `${GET_ENVIRON} (server_version WSGIServer/0.2); RFC 3875 §4.1.17`,
    needs: { probe: true },
    check: defineCheck('SERVER_SOFTWARE is a non-empty string (Django: "WSGIServer/0.2")', async (t) => {
      const value = environOf(await environFor(t, 'GET /', '/'), 'SERVER_SOFTWARE');
      if (typeof value === 'string' && value.length > 0) return pass(`SERVER_SOFTWARE ${show(value)}`);
      return fail(`SERVER_SOFTWARE ${show(value)}, expected a non-empty string`);
    }),
  },
  {
    id: 'ENV-BODY',
    title: 'wsgi.input yields exactly the Content-Length bytes, then end of input',
    profiles: ['django', 'wsgi'],
    level: 'MUST',
    source: 'Django 3.2 django/core/servers/basehttp.py ServerHandler (LimitedStream); PEP 3333 §Input and Error Streams',
    needs: { probe: true },
    check: defineCheck(
      'a body of all 256 byte values with Content-Length 256 is read byte for byte; with Content-Length 5 and a longer request pipelined behind it, an application asking for 64 bytes gets the 5 body bytes and then end of input, never bytes of the next request',
      async (t) => {
        const judgement = new Judgement();
        const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const binary = await environFor(t, 'POST of 256 byte values', '/h1spec-body', { method: 'POST', headers: [['Content-Length', '256']], body: everyByte });
        const read = bodyRead(binary);
        judgement.expect(read.equals(everyByte), `${read.length} bytes read${read.equals(everyByte) ? ', byte for byte as sent' : `: ${show(read.toString('latin1'))}`}`, 'the 256 bytes sent');
        const next = requestFor(t.endpoint, '/h1spec-next-request', { headers: [['X-Padding', 'p'.repeat(64)]] });
        const bounded = requestFor(t.endpoint, '/h1spec-bounded', { method: 'POST', headers: [['Content-Length', '5']], probeAction: 'read:64', close: false, body: 'hello' });
        const report = await probeReport(t, 'POST with Content-Length 5, read:64, a request pipelined behind', Buffer.concat([bounded, next]), 'POST');
        judgement.equal('body read asking for 64 bytes', bodyRead(report).toString('latin1'), 'hello');
        return judgement.outcome();
      },
    ),
  },
];
