/**
 * RFC 9112 §6.3 / RFC 9110 §8.6: Content-Length as the request's framing. Each body is a complete request to
 * SMUGGLED_PATH, so a server that frames it short answers that request and the check sees it.
 */
import { Judgement, type Outcome, type Trial } from './check-kit.ts';
import {
  converse,
  describeAcceptance,
  judge,
  notWrapped,
  oneOfBodies,
  rfcRequest,
  rfcRequirement,
  singleRequestCheck,
  SMUGGLED_REQUEST,
  type Acceptance,
} from './rfc-kit.ts';
import type { Requirement } from './types.ts';

const INVALID_LENGTH = 'RFC 9112 §6.3; RFC 9110 §8.6';
const BODY_LENGTH = SMUGGLED_REQUEST.length;

/** An invalid Content-Length in a request is an unrecoverable framing error: 400, then close (RFC 9112 §6.3 item 5). */
const unrecoverable: Acceptance = { reject: [400], closeAfterReject: true };
const wholeBody = oneOfBodies([SMUGGLED_REQUEST], 'the whole body read as the body');
/** RFC 9112 §6.3 item 5 processes a list of one repeated value with that value; RFC 9110 §8.6 also lets it be rejected. */
const repeatedValue: Acceptance = { ...unrecoverable, serve: wholeBody };

function labelFor(values: readonly string[]): string {
  return `POST with ${values.map((value) => `Content-Length: ${value}`).join(' + ')}`;
}

/** Sends the smuggled request as the body of a POST with `values` as its Content-Length field lines, and judges it. */
async function postWithLengths(t: Trial, values: readonly string[], acceptance: Acceptance): Promise<Outcome> {
  const fields = values.map((value) => ['Content-Length', value] as const);
  return judge(await converse(t, labelFor(values), rfcRequest(t.endpoint, 'POST', fields, SMUGGLED_REQUEST)), acceptance);
}

function lengthCheck(id: string, title: string, values: readonly string[], acceptance: Acceptance, source = INVALID_LENGTH): Requirement {
  return rfcRequirement({
    id,
    title,
    level: 'MUST',
    source,
    expected: `${labelFor(values)} (the body is ${BODY_LENGTH} bytes): ${describeAcceptance(acceptance)}`,
    run: (t) => postWithLengths(t, values, acceptance),
  });
}

const digits = String(BODY_LENGTH);

export const rfcFramingRequirements: Requirement[] = [
  lengthCheck('RFC-CL-PLUS-SIGN', 'A Content-Length with a plus sign is rejected', [`+${digits}`], unrecoverable),
  lengthCheck('RFC-CL-NEGATIVE', 'A negative Content-Length is rejected', [`-${digits}`], unrecoverable),
  lengthCheck('RFC-CL-NON-DIGIT', 'A Content-Length with trailing non-digits is rejected', [`${digits}abc`], unrecoverable),
  lengthCheck(
    'RFC-CL-DIGIT-SEPARATOR',
    'A Content-Length with an underscore between its digits is rejected',
    [`${digits.slice(0, 1)}_${digits.slice(1)}`],
    unrecoverable,
  ),
  lengthCheck('RFC-CL-LIST-UNEQUAL', 'A Content-Length list of different values is rejected', [`${digits}, 0`], unrecoverable),
  lengthCheck('RFC-CL-LIST-EQUAL', 'A Content-Length list of one repeated value frames the body by it, or is rejected', [`${digits}, ${digits}`], repeatedValue),
  lengthCheck('RFC-CL-DUPLICATE-EQUAL', 'Two equal Content-Length fields frame the body by their value, or are rejected', [digits, digits], repeatedValue),
  lengthCheck('RFC-CL-LEADING-ZEROS', 'A Content-Length with leading zeros is read as a decimal number', [`00${digits}`], { serve: wholeBody }, 'RFC 9110 §8.6, §2.3'),
  rfcRequirement({
    id: 'RFC-CL-DUPLICATE-UNEQUAL',
    title: 'Two Content-Length fields with different values are rejected',
    level: 'MUST',
    source: INVALID_LENGTH,
    expected: `Content-Length 0 and ${digits} in either order, each on its own connection: ${describeAcceptance(unrecoverable)}`,
    run: async (t) => {
      // Servers differ in which of the two they would pick, so both orders are tried.
      const judgement = new Judgement();
      for (const values of [['0', digits], [digits, '0']]) {
        judgement.include(await postWithLengths(t, values, unrecoverable), labelFor(values));
      }
      return judgement.outcome();
    },
  }),
  singleRequestCheck({
    id: 'RFC-CL-OVERFLOW',
    title: 'A Content-Length beyond 64 bits neither wraps around nor frames the body short',
    level: 'MUST',
    source: 'RFC 9110 §8.6; RFC 9112 §6.3',
    label: 'POST with Content-Length 2^64 + 5, "hello" and a request behind it, then end of stream',
    // A server that wraps 2^64+5 around to 5 reads "hello" as the body and answers the request behind it; a server
    // that takes the number as it is waits for the rest of the body until the end of stream.
    request: (ep) => Buffer.concat([rfcRequest(ep, 'POST', [['Content-Length', (2n ** 64n + 5n).toString()]], 'hello'), SMUGGLED_REQUEST]),
    options: { halfClose: true },
    acceptance: {
      reject: [400, 413],
      closeAfterReject: true,
      serve: notWrapped,
    },
  }),
  singleRequestCheck({
    id: 'RFC-CL-GET-BODY',
    title: 'A GET with a Content-Length body is framed by it like any other request',
    level: 'MUST',
    source: 'RFC 9112 §6.3; RFC 9110 §9.3.1',
    label: 'GET with a Content-Length body',
    request: (ep) => rfcRequest(ep, 'GET', [['Content-Length', digits]], SMUGGLED_REQUEST),
    options: { methods: ['GET'] },
    // RFC 9110 §9.3.1: content in a GET "might lead some implementations to reject the request and close the connection".
    acceptance: { reject: [400], closeAfterReject: true, serve: { expect: 'the body consumed with the request', judge: () => null } },
  }),
];
