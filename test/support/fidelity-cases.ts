/**
 * Raw requests for the fidelity suite: each is sent, byte for byte, to real Django 3.2 runserver and to the
 * reference, and the two must answer alike. Each case names the SPEC rows it exercises; together they cover
 * every D row, its boundaries and its quirks.
 */

export interface FidelityCase {
  name: string;
  ids: string[];
  bytes: Buffer;
  /** The method of each request the server may answer, in order (HEAD responses carry no body). */
  methods?: string[];
  /** Only for this server mode; both when absent. */
  mode?: 'threaded' | 'serial';
}

const b = (text: string) => Buffer.from(text, 'latin1');
const get = (target: string, headers = 'Host: h1spec\r\n') => `GET ${target} HTTP/1.1\r\n${headers}\r\n`;
const headerLine = (name: string, totalBytes: number) => `${name}: ${'a'.repeat(totalBytes - name.length - 4)}\r\n`;
const manyHeaders = (count: number) => Array.from({ length: count }, (_, i) => `X-H${i}: ${i}\r\n`).join('');
/** A request line of exactly `totalBytes` bytes, CRLF included. */
const requestLineOf = (totalBytes: number) => `GET /${'a'.repeat(totalBytes - 'GET / HTTP/1.1\r\n'.length)} HTTP/1.1\r\n`;

export const FIDELITY_CASES: FidelityCase[] = [
  // ENV — the environ the probe reports
  { name: 'plain GET', ids: ['ENV-GATEWAY-INTERFACE', 'ENV-SERVER-NAME', 'ENV-WSGI-VARS', 'ENV-SERVER-SOFTWARE'], bytes: b(get('/')) },
  { name: 'Host names another server', ids: ['ENV-SERVER-NAME', 'ENV-SERVER-PORT'], bytes: b(get('/', 'Host: example.com:9999\r\n')) },
  { name: 'no Host at all', ids: ['ENV-HTTP-VARS'], bytes: b('GET / HTTP/1.1\r\n\r\n') },
  { name: 'percent-decoded path, raw query', ids: ['ENV-PATH-INFO', 'ENV-QUERY-STRING'], bytes: b(get('/a%20b/%2F?x=%20y&z=%2F')) },
  { name: 'raw UTF-8 path read as latin-1', ids: ['ENV-PATH-INFO'], bytes: Buffer.concat([b('GET /caf'), Buffer.from('é', 'utf8'), b(' HTTP/1.1\r\nHost: h\r\n\r\n')]) },
  { name: 'NUL byte in the path', ids: ['ENV-PATH-INFO'], bytes: b(get('/a%00b')) },
  { name: 'invalid percent escapes stay', ids: ['ENV-PATH-INFO'], bytes: b(get('/%zz%4/%4g%')) },
  { name: 'leading // collapsed', ids: ['ENV-PATH-INFO'], bytes: b(get('//evil.example/x?y')) },
  { name: 'many leading slashes', ids: ['ENV-PATH-INFO'], bytes: b(get('////a//b')) },
  { name: 'second ? stays in the query', ids: ['ENV-QUERY-STRING'], bytes: b(get('/p?a=1?b=2')) },
  { name: 'empty query', ids: ['ENV-QUERY-STRING'], bytes: b(get('/p?')) },
  { name: 'lower-case method kept', ids: ['ENV-REQUEST-METHOD'], bytes: b('get / HTTP/1.1\r\nHost: h\r\n\r\n') },
  { name: 'extension method', ids: ['ENV-REQUEST-METHOD'], bytes: b('FOO-BAR /x HTTP/1.1\r\nHost: h\r\n\r\n') },
  { name: 'HTTP/1.0 request', ids: ['ENV-SERVER-PROTOCOL', 'KA-HTTP10-CLOSE'], bytes: b('GET / HTTP/1.0\r\n\r\n') },
  { name: 'version with leading zero', ids: ['ENV-SERVER-PROTOCOL'], bytes: b('GET / HTTP/01.1\r\nHost: h\r\n\r\n') },
  { name: 'version 1.10', ids: ['ENV-SERVER-PROTOCOL'], bytes: b('GET / HTTP/1.10\r\nHost: h\r\n\r\n') },
  { name: 'Content-Length abc', ids: ['ENV-CONTENT-LENGTH'], bytes: b('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n') },
  { name: 'Content-Length with spaces', ids: ['ENV-CONTENT-LENGTH', 'ENV-BODY'], bytes: b('POST / HTTP/1.1\r\nHost: h\r\nContent-Length:  3  \r\n\r\nabc') },
  { name: 'empty Content-Length', ids: ['ENV-CONTENT-LENGTH'], bytes: b('POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n') },
  { name: 'no Content-Type', ids: ['ENV-CONTENT-TYPE'], bytes: b('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi') },
  { name: 'Content-Type kept raw', ids: ['ENV-CONTENT-TYPE'], bytes: b('POST / HTTP/1.1\r\nHost: h\r\nContent-Type:   text/x; a=b  \r\nContent-Length: 0\r\n\r\n') },
  { name: 'repeated fields joined', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'Host: h\r\nX-A: 1\r\nX-B: x\r\nx-a:  2 \r\nX-A: 3\r\n')) },
  { name: 'obs-fold passed through raw', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'Host: h\r\nX-Fold: a\r\n  b\r\n\tc\r\n')) },
  { name: 'field named like a CGI key', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'Host: h\r\nServer-Port: 1\r\nPath-Info: /x\r\nRemote-Addr: 6.6.6.6\r\n')) },
  { name: 'latin-1 and control bytes in values', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'Host: h\r\nX-L: caf\xe9 \x85\xa0\r\nX-C: a\x1cb\x01\r\n')) },
  { name: 'empty field value', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'Host: h\r\nX-E:\r\nX-S:   \r\n')) },
  { name: 'body read exactly', ids: ['ENV-BODY'], bytes: b('POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world') },
  { name: 'zero-length body', ids: ['ENV-BODY'], bytes: b('POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n') },
  { name: 'binary body', ids: ['ENV-BODY'], bytes: Buffer.concat([b('PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 256\r\n\r\n'), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]) },
  { name: 'body shorter than declared, then end of stream', ids: ['ENV-BODY'], bytes: b('POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 50\r\n\r\nonly this') },

  // HDR — stripping and limits
  { name: 'underscore field dropped', ids: ['HDR-UNDERSCORE-STRIP'], bytes: b(get('/', 'Host: h\r\nX_Foo: spoof\r\n')) },
  { name: 'underscore beside its dashed twin', ids: ['HDR-UNDERSCORE-STRIP'], bytes: b(get('/', 'Host: h\r\nX-Foo: a\r\nX_Foo: b\r\nx_foo: c\r\n')) },
  { name: 'Content_Type and Content_Length dropped', ids: ['HDR-UNDERSCORE-STRIP'], bytes: b('POST / HTTP/1.1\r\nHost: h\r\nContent_Type: evil/x\r\nContent_Length: 5\r\n\r\nhello') },
  { name: 'underscore at the edges of the name', ids: ['HDR-UNDERSCORE-STRIP'], bytes: b(get('/', 'Host: h\r\n_X: 1\r\nY_: 2\r\n__: 3\r\n')) },
  { name: 'header line of 65536 bytes', ids: ['HDR-LINE-LIMIT'], bytes: b(get('/', 'Host: h\r\n' + headerLine('X-Long', 65536))) },
  { name: 'header line of 65537 bytes', ids: ['HDR-LINE-LIMIT', 'ERR-FORMAT', 'KA-ERROR-CLOSE'], bytes: b(get('/', 'Host: h\r\n' + headerLine('X-Long', 65537))) },
  { name: '99 header lines', ids: ['HDR-COUNT-LIMIT'], bytes: b(get('/', 'Host: h\r\n' + manyHeaders(98))) },
  { name: '100 header lines', ids: ['HDR-COUNT-LIMIT', 'ERR-FORMAT'], bytes: b(get('/', 'Host: h\r\n' + manyHeaders(99))) },
  { name: 'line without colon ends the head', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'Host: h\r\nX-A: 1\r\nnot a field\r\nX-B: 2\r\n')) },
  { name: 'continuation before any field', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', ' lead\r\nHost: h\r\n')) },
  { name: 'bare CR inside a value', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'Host: h\r\nX-A: a\rb\r\nX-B: 2\r\n')) },
  { name: 'bare LF line ends', ids: ['ENV-HTTP-VARS'], bytes: b('GET /lf HTTP/1.1\nHost: h\nX-A: 1\n\n') },
  { name: 'a From line and a colon-first line', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'From nobody\r\nHost: h\r\n: novalue\r\nFrom x\r\nX-Z: z\r\n')) },
  { name: 'space before the colon ends the head', ids: ['ENV-HTTP-VARS'], bytes: b(get('/', 'Host: h\r\nX-A : 1\r\nX-B: 2\r\n')) },

  // KA — the keep-alive loop and framing
  { name: 'two pipelined requests', ids: ['KA-HTTP11-PERSIST', 'KA-PIPELINE', 'KA-SERIAL-CLOSE'], bytes: b(get('/1') + get('/2')) },
  // Django sends the application's body on HEAD too (RFC-HEAD-NO-BODY), so it is read as if for GET.
  { name: 'three pipelined with HEAD in the middle', ids: ['KA-PIPELINE', 'RFC-HEAD-NO-BODY'], bytes: b(get('/1') + 'HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n' + get('/3')) },
  { name: 'Connection: close then another request', ids: ['KA-CONNECTION-CLOSE'], bytes: b(get('/1', 'Host: h\r\nConnection: close\r\n') + get('/2')) },
  { name: 'Connection: CLOSE in capitals', ids: ['KA-CONNECTION-CLOSE'], bytes: b(get('/1', 'Host: h\r\nConnection: CLOSE\r\n') + get('/2')) },
  { name: 'Connection: close with a trailing space is not close', ids: ['KA-CONNECTION-CLOSE'], bytes: b(get('/1', 'Host: h\r\nConnection: close \r\n') + get('/2')) },
  { name: 'HTTP/1.0 then another request', ids: ['KA-HTTP10-CLOSE'], bytes: b('GET /1 HTTP/1.0\r\n\r\n' + get('/2')) },
  { name: 'HTTP/1.0 keep-alive', ids: ['KA-HTTP10-KEEPALIVE'], bytes: b('GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' + get('/2')) },
  { name: 'response without length closes', ids: ['KA-NO-LENGTH-CLOSE'], bytes: b(get('/1', 'Host: h\r\nX-Probe-Action: no-length\r\n') + get('/2')) },
  { name: 'unread body discarded', ids: ['KA-UNREAD-BODY'], bytes: b('POST /1 HTTP/1.1\r\nHost: h\r\nX-Probe-Action: read:0\r\nContent-Length: 5\r\n\r\nhello' + get('/2')) },
  { name: 'partly read body discarded', ids: ['KA-UNREAD-BODY'], bytes: b('POST /1 HTTP/1.1\r\nHost: h\r\nX-Probe-Action: read:2\r\nContent-Length: 5\r\n\r\nhello' + get('/2')) },
  { name: 'bytes past Content-Length start the next request', ids: ['KA-UNREAD-BODY'], bytes: b('POST /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloEXTRA' + get('/after')) },
  { name: 'chunked body ignored', ids: ['KA-CHUNKED-IGNORED'], bytes: b('POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n') },
  { name: 'Content-Length frames a chunked body', ids: ['KA-CHUNKED-IGNORED'], bytes: b('POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n5\r\nhello\r\n0\r\n\r\n') },
  { name: 'blank line before a request', ids: ['KA-EMPTY-LINE'], bytes: b('\r\n' + get('/')) },
  { name: 'bare LF before a request', ids: ['KA-EMPTY-LINE'], bytes: b('\n' + get('/')) },
  { name: 'blank line after a served request', ids: ['KA-EMPTY-LINE', 'KA-HTTP11-PERSIST'], bytes: b(get('/1') + '\r\n' + get('/2')) },
  { name: 'negative Content-Length reads to end of stream', ids: ['ENV-CONTENT-LENGTH', 'KA-UNREAD-BODY'], bytes: b('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\nabc') },
  { name: 'Content-Length with underscores and sign', ids: ['ENV-CONTENT-LENGTH', 'ENV-BODY'], bytes: b('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +0_3\r\n\r\nabcGET') },

  // URI — request-line length
  { name: 'request line of 65536 bytes', ids: ['URI-LIMIT-EXACT'], bytes: b(requestLineOf(65536) + 'Host: h\r\n\r\n') },
  { name: 'request line of 65537 bytes', ids: ['URI-414', 'ERR-FORMAT'], bytes: b(requestLineOf(65537) + 'Host: h\r\n\r\n') },
  { name: 'request line of 100000 bytes after a served request', ids: ['URI-414', 'KA-ERROR-CLOSE'], bytes: b(get('/1') + requestLineOf(100000)) },
  { name: 'HEAD with a 414', ids: ['URI-414', 'ERR-HEAD-NO-BODY'], bytes: b('HEAD /' + 'a'.repeat(70000) + ' HTTP/1.1\r\n\r\n'), methods: ['HEAD'] },

  // RL — the request line
  { name: 'version FOO/1.1', ids: ['RL-VERSION-SYNTAX'], bytes: b('GET / FOO/1.1\r\n\r\n') },
  { name: 'version HTTP/1', ids: ['RL-VERSION-SYNTAX'], bytes: b('GET / HTTP/1\r\n\r\n') },
  { name: 'version HTTP/1.1.1', ids: ['RL-VERSION-SYNTAX'], bytes: b('GET / HTTP/1.1.1\r\n\r\n') },
  { name: 'lower-case http/1.1', ids: ['RL-VERSION-SYNTAX'], bytes: b('GET / http/1.1\r\n\r\n') },
  { name: 'version with quotes and latin-1 in the repr', ids: ['RL-VERSION-SYNTAX'], bytes: b("GET / HTTP/x'\xe9\x7f\r\n\r\n") },
  { name: 'four words, bad last word', ids: ['RL-WORD-COUNT'], bytes: b('GET / x y\r\n\r\n') },
  { name: 'four words, valid version', ids: ['RL-WORD-COUNT'], bytes: b('GET / x HTTP/1.1\r\nHost: h\r\n\r\n') },
  { name: 'one word', ids: ['RL-WORD-COUNT'], bytes: b('GET\r\n\r\n') },
  { name: 'HTTP/2.0', ids: ['RL-VERSION-2'], bytes: b('GET / HTTP/2.0\r\n\r\n') },
  { name: 'HTTP/3.1', ids: ['RL-VERSION-2'], bytes: b('GET / HTTP/3.1\r\n\r\n') },
  { name: 'HTTP/2 preface', ids: ['RL-VERSION-2'], bytes: b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n') },
  { name: 'HTTP/0.9 GET', ids: ['RL-HTTP09'], bytes: b('GET /nine\r\n') },
  { name: 'HTTP/0.9 POST', ids: ['RL-HTTP09-METHOD'], bytes: b('POST /nine\r\n') },
  { name: 'tabs and other Python white space split the line', ids: ['RL-WORD-COUNT', 'ENV-REQUEST-METHOD'], bytes: b('GET\t/t\x1cHTTP/1.1\r\nHost: h\r\n\r\n') },
  { name: 'version 1.1 written with an underscore', ids: ['RL-VERSION-SYNTAX', 'ENV-SERVER-PROTOCOL'], bytes: b('GET / HTTP/1_0.1\r\nHost: h\r\n\r\n') },

  // EXP — Expect
  { name: 'Expect: 100-continue with the body sent eagerly', ids: ['EXP-100-CONTINUE'], bytes: b('POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody') },
  { name: 'Expect on HTTP/1.0', ids: ['EXP-100-CONTINUE'], bytes: b('POST /e HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody') },
  { name: 'Expect with a leading-zero version', ids: ['EXP-100-CONTINUE'], bytes: b('POST /e HTTP/01.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n') },

  // ERR — error responses
  { name: 'HEAD answered by the application', ids: ['RFC-HEAD-NO-BODY'], bytes: b('HEAD / HTTP/1.1\r\nHost: h\r\n\r\n') },
  { name: 'HEAD with a 431', ids: ['ERR-HEAD-NO-BODY'], bytes: b('HEAD / HTTP/1.1\r\n' + manyHeaders(100) + '\r\n'), methods: ['HEAD'] },
  { name: 'application raises', ids: ['ERR-APP-EXCEPTION'], bytes: b(get('/r', 'Host: h\r\nX-Probe-Action: raise\r\n') + get('/after')) },
  { name: 'application raises after its headers', ids: ['ERR-APP-EXCEPTION-LATE'], bytes: b(get('/r', 'Host: h\r\nX-Probe-Action: raise-after-headers\r\n') + get('/after')) },
  { name: 'application status 404', ids: ['LOG-LEVELS'], bytes: b(get('/s', 'Host: h\r\nX-Probe-Action: status:404\r\n')) },
  { name: 'application status 503', ids: ['LOG-LEVELS'], bytes: b(get('/s', 'Host: h\r\nX-Probe-Action: status:503\r\n')) },
  { name: 'application status 299 unknown', ids: ['LOG-LEVELS'], bytes: b(get('/s', 'Host: h\r\nX-Probe-Action: status:299\r\n')) },
];
