/**
 * RFC 9112 §2.3, §3 and RFC 9110 §6.2: the request line. An invalid one SHOULD get 400 (or 301 with the target
 * repaired, RFC 9112 §3); where the RFC lets a server be lenient, leniency must still find the request the client meant.
 */
import { environOf, hostOf, show } from './check-kit.ts';
import { environText, reportSays, RFC_PATH, singleRequestCheck, withLine, type Acceptance, type Service } from './rfc-kit.ts';
import type { Endpoint } from '../wire/types.ts';
import type { Level, Requirement } from './types.ts';

const INVALID_LINE = 'RFC 9112 §3';
const invalidLine: Acceptance = { reject: [400] };
const invalidVersion: Acceptance = { reject: [400, 505] };

function lineCheck(
  id: string,
  title: string,
  level: Level,
  source: string,
  requestLine: (ep: Endpoint) => string,
  shown: string,
  acceptance: Acceptance,
): Requirement {
  return singleRequestCheck({
    id,
    title,
    level,
    source,
    label: `the request line ${shown}`,
    request: (ep) => withLine(ep, requestLine(ep)),
    options: { methods: ['GET'] },
    acceptance,
  });
}

/** Served, and (when the target runs the probe) the application got RFC_PATH with `query`. */
function servedAs(query: string, words: string): Service {
  return {
    expect: words,
    judge: (_response, report) => {
      if (!report) return null;
      const path = environOf(report, 'PATH_INFO');
      const seenQuery = environOf(report, 'QUERY_STRING');
      return path === RFC_PATH && seenQuery === query ? null : `the application sees PATH_INFO ${show(path)} and QUERY_STRING ${show(seenQuery)}`;
    },
  };
}

export const rfcRequestLineRequirements: Requirement[] = [
  lineCheck(
    'RFC-METHOD-TOKEN',
    'A method that is not a token is rejected',
    'SHOULD',
    'RFC 9112 §3, §3.1',
    () => `G(T ${RFC_PATH} HTTP/1.1`,
    '"G(T /h1spec-rfc HTTP/1.1"',
    { reject: [400, 501] },
  ),
  lineCheck(
    'RFC-VERSION-CASE',
    'A lower-case version ("http/1.1") is invalid: the name HTTP is case-sensitive',
    'SHOULD',
    'RFC 9112 §2.3, §3',
    () => `GET ${RFC_PATH} http/1.1`,
    '"GET /h1spec-rfc http/1.1"',
    invalidVersion,
  ),
  lineCheck(
    'RFC-VERSION-DIGITS',
    'A version with more than one digit per number ("HTTP/01.1") is invalid',
    'SHOULD',
    'RFC 9112 §2.3, §3',
    () => `GET ${RFC_PATH} HTTP/01.1`,
    '"GET /h1spec-rfc HTTP/01.1"',
    invalidVersion,
  ),
  lineCheck(
    'RFC-VERSION-MINOR',
    'A higher minor version ("HTTP/1.9") is served as HTTP/1.1, and answered as HTTP/1.1',
    'SHOULD',
    'RFC 9110 §6.2',
    () => `GET ${RFC_PATH} HTTP/1.9`,
    '"GET /h1spec-rfc HTTP/1.9"',
    {
      serve: {
        expect: 'answered with HTTP/1.1 in the status line',
        judge: (response) => (response.version === 'HTTP/1.1' ? null : `the status line says ${show(response.version)}`),
      },
    },
  ),
  lineCheck(
    'RFC-RL-WHITESPACE',
    'Several spaces between the parts of the request line are rejected, or parsed as word boundaries',
    'SHOULD',
    INVALID_LINE,
    () => `GET  ${RFC_PATH}  HTTP/1.1`,
    '"GET  /h1spec-rfc  HTTP/1.1" (two spaces each)',
    { ...invalidLine, serve: servedAs('', 'the application gets the target /h1spec-rfc') },
  ),
  lineCheck(
    'RFC-TARGET-ABSOLUTE-FORM',
    'An origin server accepts a target in absolute form, and serves its path',
    'MUST',
    'RFC 9112 §3.2.2, §3.3',
    (ep) => `GET http://${hostOf(ep)}${RFC_PATH}?q=1 HTTP/1.1`,
    '"GET http://<host>/h1spec-rfc?q=1 HTTP/1.1"',
    { serve: servedAs('q=1', 'the application gets path /h1spec-rfc and query q=1') },
  ),
  lineCheck(
    'RFC-TARGET-ASTERISK-GET',
    'The asterisk form is for OPTIONS only: "GET *" is rejected',
    'SHOULD',
    'RFC 9112 §3.2.4, §3',
    () => 'GET * HTTP/1.1',
    '"GET * HTTP/1.1"',
    invalidLine,
  ),
  lineCheck(
    'RFC-TARGET-CONTROL-CHAR',
    'A control character in the request target is rejected',
    'SHOULD',
    'RFC 9112 §3.2, §3',
    () => `GET ${RFC_PATH}\x01 HTTP/1.1`,
    '"GET /h1spec-rfc\\x01 HTTP/1.1"',
    { reject: [400, 301] },
  ),
  lineCheck(
    'RFC-TARGET-FRAGMENT',
    'A fragment in the request target is rejected, or dropped before the target reaches the application',
    'SHOULD',
    'RFC 9112 §3.2.1, §3',
    () => `GET ${RFC_PATH}#fragment HTTP/1.1`,
    '"GET /h1spec-rfc#fragment HTTP/1.1"',
    {
      reject: [400, 301],
      serve: reportSays('the application gets path /h1spec-rfc', (report) =>
        environOf(report, 'PATH_INFO') === RFC_PATH ? null : `the application sees PATH_INFO ${environText(report, 'PATH_INFO')}`,
      ),
    },
  ),
  lineCheck(
    'RFC-TARGET-RELATIVE',
    'A target that is neither absolute path, absolute URI, authority nor "*" is rejected',
    'SHOULD',
    'RFC 9112 §3.2, §3',
    () => 'GET h1spec-rfc HTTP/1.1',
    '"GET h1spec-rfc HTTP/1.1"',
    { reject: [400, 301] },
  ),
];
