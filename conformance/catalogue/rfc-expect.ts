/**
 * RFC 9110 §10.1.1, §15.2: the Expect field. (EXP-100-CONTINUE, in SPEC, covers the plain 100-continue exchange.)
 */
import { decide, describeClose, describeResponse, fail, headArrived, inconclusive, pass } from './check-kit.ts';
import { rfcRequest, rfcRequirement, singleRequestCheck } from './rfc-kit.ts';
import type { Requirement } from './types.ts';

const EXPECT = 'RFC 9110 §10.1.1';

export const rfcExpectRequirements: Requirement[] = [
  singleRequestCheck({
    id: 'RFC-EXPECT-UNKNOWN',
    title: 'An unknown expectation gets 417, or is ignored',
    level: 'MAY',
    source: EXPECT,
    label: 'GET with Expect: h1spec-unknown',
    request: (ep) => rfcRequest(ep, 'GET', [['Expect', 'h1spec-unknown']]),
    options: { methods: ['GET'] },
    acceptance: { reject: [417], silentClose: false, serve: { expect: 'the expectation ignored', judge: () => null } },
  }),
  singleRequestCheck({
    id: 'RFC-EXPECT-HTTP10',
    title: 'A 100-continue expectation in an HTTP/1.0 request is ignored: no 1xx response',
    level: 'MUST',
    source: `${EXPECT}, §15.2`,
    label: 'HTTP/1.0 POST with Expect: 100-continue and its body at once',
    request: (ep) =>
      rfcRequest(
        ep,
        'POST',
        [
          ['Content-Length', '5'],
          ['Expect', '100-continue'],
        ],
        'hello',
        'HTTP/1.0',
      ),
    acceptance: {
      serve: {
        expect: 'with no interim response before the final one',
        judge: (response) => (response.interim.length === 0 ? null : `it was preceded by ${response.interim.map((r) => `${r.status} ${r.reason}`).join(', ')}`),
      },
    },
  }),
  rfcRequirement({
    id: 'RFC-EXPECT-CASE-INSENSITIVE',
    title: '"Expect: 100-Continue" (any case) gets 100 Continue or a final status before the body is sent',
    level: 'MUST',
    source: EXPECT,
    expected: 'with the body held back: an immediate 100 Continue (then, with the body sent, a final response) or an immediate final response',
    run: async (t) => {
      const connection = await t.connect('HTTP/1.1 POST with Expect: 100-Continue, the body held back');
      const head = rfcRequest(t.endpoint, 'POST', [
        ['Content-Length', '5'],
        ['Expect', '100-Continue'],
        ['Connection', 'close'],
      ]);
      const deadline = t.deadline();
      try {
        await connection.write(head, deadline);
        const interim = await connection.readInterim(['POST'], deadline);
        if (interim) {
          await connection.write('hello', deadline);
          const [final] = await connection.readResponses([], 1, deadline);
          return pass(`${interim.status} ${interim.reason} before the body, then ${describeResponse(final)}`);
        }
        const { responses, close } = connection.conversation();
        const [first] = responses;
        if (first && headArrived(first)) return pass(`an immediate final response: ${describeResponse(first)}`);
        if (first?.kind === 'bare') return fail(`no status line: ${describeResponse(first)}`);
        if (close === 'eof' || close === 'reset') return fail(`${first ? describeResponse(first) : 'no response'}; ${describeClose(close)}`);
        return decide(inconclusive(`neither 100 Continue nor a final response within ${t.ctx.timeoutMs} ms while the body was held back`));
      } finally {
        deadline.cancel();
      }
    },
  }),
];
