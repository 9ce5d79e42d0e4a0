/**
 * EXP: Expect: 100-continue. CPython 3.11's parse_request (handle_expect_100) writes `HTTP/1.1 100 Continue` and a
 * blank line as soon as the head is read, before the application asks for the body.
 */
import {
  bodyRead,
  defineCheck,
  describeResponse,
  inconclusive,
  Judgement,
  type Outcome,
  patienceMs,
  reportIn,
  requestFor,
  type Trial,
} from './check-kit.ts';
import type { ParsedResponse } from '../wire/types.ts';
import type { Requirement } from './types.ts';

const BODY = 'hello';

function expectingHead(t: Trial, path: string): Buffer {
  return requestFor(t.endpoint, path, { method: 'POST', headers: [['Expect', '100-continue'], ['Content-Length', String(BODY.length)]] });
}

/** With the probe, the final response must report the body as sent. */
function finalResponse(t: Trial, response: ParsedResponse | undefined, label: string): Outcome {
  const judgement = new Judgement();
  const complete = response?.kind === 'status' && response.complete;
  judgement.expect(complete, `${label}: ${describeResponse(response)}`, 'a complete final response');
  if (complete && t.ctx.probe) {
    const report = reportIn(response);
    const read = report ? bodyRead(report).toString('latin1') : null;
    judgement.expect(read === BODY, `the application read ${read === null ? 'nothing (no probe report)' : JSON.stringify(read)}`, JSON.stringify(BODY));
  }
  return judgement.outcome();
}

export const expectRequirements: Requirement[] = [
  {
    id: 'EXP-100-CONTINUE',
    title: 'Expect: 100-continue gets 100 Continue before the final response',
    profiles: ['django', 'rfc'],
    level: 'MUST',
    source: 'CPython 3.11 http/server.py BaseHTTPRequestHandler.handle_expect_100; RFC 9110 §10.1.1',
    needs: {},
    check: defineCheck(
      'a POST with Expect: 100-continue whose body is held back gets `HTTP/1.1 100 Continue` and a blank line without the body being sent (or, RFC 9110 §10.1.1, an immediate final status of 400 or more); once the body is sent the final response comes and (probe) reports it; the same request with the body sent eagerly is read the same, with or without a 100 first',
      async (t) => {
        const judgement = new Judgement();
        const held = await t.connect('POST, Expect: 100-continue, body held back');
        await held.write(expectingHead(t, '/h1spec-expect'), t.deadline());
        const window = patienceMs(t);
        const interim = await held.readInterim(['POST'], t.deadline(window));
        const early = held.conversation().responses[0];
        if (!interim && early?.complete && early.kind === 'status' && early.status >= 400) {
          judgement.expect(true, `an immediate final response before the body: ${describeResponse(early)}`);
        } else {
          judgement.expect(
            interim !== null && interim.version === 'HTTP/1.1' && interim.status === 100,
            interim ? `before the body: ${interim.version} ${interim.status} ${interim.reason}` : `nothing for ${window} ms while the body was held back`,
            'HTTP/1.1 100 Continue',
          );
          await held.write(BODY, t.deadline());
          const [response] = await held.readResponses([], 1, t.deadline());
          if (!response?.complete) return inconclusive(`after the body was sent: ${describeResponse(response)}`);
          judgement.include(finalResponse(t, response, 'after the body'));
        }
        // Done with it: a server that serves one connection at a time must be free for the next one.
        t.recordConnection(held);
        const eager = await t.exchange('POST, Expect: 100-continue, body sent at once', Buffer.concat([expectingHead(t, '/h1spec-expect-eager'), Buffer.from(BODY)]), {
          methods: ['POST'],
        });
        const eagerResponse = eager.responses[0];
        const interimStatuses = eagerResponse?.interim.map((r) => r.status).join(', ') ?? '';
        judgement.include(finalResponse(t, eagerResponse, `body sent at once${interimStatuses ? ` (after ${interimStatuses})` : ''}`));
        return judgement.outcome();
      },
    ),
  },
];
