/**
 * RFC 9112 §3.2, §3.2.2: the Host field. An HTTP/1.1 request needs exactly one, with a valid value; a target in
 * absolute form names the host itself, and the Host field is then ignored.
 */
import { environOf, Judgement, show } from './check-kit.ts';
import { converse, describeAcceptance, head, judge, reportSays, RFC_PATH, rfcRequirement, singleRequestCheck, type Acceptance } from './rfc-kit.ts';
import type { Requirement } from './types.ts';

const HOST_RULES = 'RFC 9112 §3.2';
const badHost: Acceptance = { reject: [400] };
const REQUEST_LINE = `GET ${RFC_PATH} HTTP/1.1`;

/** Each head on its own connection must be rejected. */
function everyHeadRejected(id: string, title: string, heads: ReadonlyArray<readonly [string, readonly string[]]>): Requirement {
  return rfcRequirement({
    id,
    title,
    level: 'MUST',
    source: HOST_RULES,
    expected: `for each of ${heads.map(([label]) => label).join(', ')}: ${describeAcceptance(badHost)}`,
    run: async (t) => {
      const judgement = new Judgement();
      for (const [label, lines] of heads) {
        judgement.include(judge(await converse(t, label, head([REQUEST_LINE, ...lines]), { methods: ['GET'] }), badHost), label);
      }
      return judgement.outcome();
    },
  });
}

const TARGET_HOST = 'h1spec-target.test';
const OTHER_HOST = 'h1spec-other.test';

export const rfcHostRequirements: Requirement[] = [
  singleRequestCheck({
    id: 'RFC-HOST-MISSING',
    title: 'An HTTP/1.1 request without Host is rejected with 400',
    level: 'MUST',
    source: HOST_RULES,
    label: 'HTTP/1.1 GET without Host',
    request: () => head([REQUEST_LINE]),
    options: { methods: ['GET'] },
    acceptance: badHost,
  }),
  everyHeadRejected('RFC-HOST-DUPLICATE', 'A request with two Host field lines is rejected with 400', [
    ['two equal Host lines', [`Host: ${TARGET_HOST}`, `Host: ${TARGET_HOST}`]],
    ['two different Host lines', [`Host: ${TARGET_HOST}`, `Host: ${OTHER_HOST}`]],
  ]),
  everyHeadRejected('RFC-HOST-INVALID', 'A Host field with an invalid value is rejected with 400', [
    ['Host with a path', [`Host: ${TARGET_HOST}/path`]],
    ['Host with a space', [`Host: h1spec target.test`]],
  ]),
  singleRequestCheck({
    id: 'RFC-HOST-ABSOLUTE-FORM',
    title: 'With a target in absolute form, the host is the target\'s and the Host field is ignored',
    level: 'MUST',
    source: 'RFC 9112 §3.2.2, §3.3',
    label: `GET http://${TARGET_HOST}/h1spec-rfc with Host: ${OTHER_HOST}`,
    request: () => head([`GET http://${TARGET_HOST}${RFC_PATH} HTTP/1.1`, `Host: ${OTHER_HOST}`]),
    options: { methods: ['GET'] },
    acceptance: {
      ...badHost,
      // PEP 3333 rebuilds the URL from HTTP_HOST, or from SERVER_NAME when there is no HTTP_HOST.
      serve: reportSays(`the application's host (HTTP_HOST, else SERVER_NAME) is ${TARGET_HOST}`, (report) => {
        const httpHost = environOf(report, 'HTTP_HOST');
        const host = httpHost ?? environOf(report, 'SERVER_NAME');
        return host === TARGET_HOST ? null : `the application's host is ${show(host)} (HTTP_HOST ${show(httpHost)})`;
      }),
    },
  }),
];
