/**
 * RFC 9112 §3 and RFC 9110 §2.3, §5.4: lengths. A request line or field section of reasonable length is served; one
 * longer than the server wishes to read gets the status made for it, not a broken connection.
 */
import { headerLineOfLength } from './check-kit.ts';
import { RFC_PATH, rfcRequest, singleRequestCheck, withLine, type Service } from './rfc-kit.ts';
import type { Requirement } from './types.ts';

/** RFC 9112 §3: "It is RECOMMENDED that all HTTP senders and recipients support ... request-line lengths of 8000 octets." */
const RECOMMENDED_TARGET_OCTETS = 8000;
/** Beyond any limit a development server sets (Django's is 65536 for the whole line), small enough to send at once. */
const OVERLONG_OCTETS = 100_000;
/** Four fields of 2000 octets: a field section of 8000 octets, well within what RFC 9110 §2.3 calls reasonable. */
const REASONABLE_FIELDS = 4;
const REASONABLE_FIELD_OCTETS = 2000;

const anyAnswer: Service = { expect: 'answered', judge: () => null };

/** A target of exactly `octets` octets under RFC_PATH. */
function targetOf(octets: number): string {
  return `${RFC_PATH}/${'a'.repeat(octets - RFC_PATH.length - 1)}`;
}

export const rfcLimitRequirements: Requirement[] = [
  singleRequestCheck({
    id: 'RFC-TARGET-8000',
    title: 'A request target of 8000 octets is served',
    level: 'SHOULD',
    source: 'RFC 9112 §3',
    label: `GET with a ${RECOMMENDED_TARGET_OCTETS}-octet target`,
    request: (ep) => withLine(ep, `GET ${targetOf(RECOMMENDED_TARGET_OCTETS)} HTTP/1.1`),
    options: { methods: ['GET'] },
    acceptance: { serve: anyAnswer },
  }),
  singleRequestCheck({
    id: 'RFC-TARGET-TOO-LONG',
    title: 'A request target longer than the server wishes to parse gets 414',
    level: 'MUST',
    source: 'RFC 9112 §3; RFC 9110 §15.5.15',
    label: `GET with a ${OVERLONG_OCTETS}-octet target`,
    request: (ep) => withLine(ep, `GET ${targetOf(OVERLONG_OCTETS)} HTTP/1.1`),
    options: { methods: ['GET'] },
    acceptance: { reject: [414], silentClose: false, serve: { expect: 'the server chose to parse it', judge: () => null } },
  }),
  singleRequestCheck({
    id: 'RFC-FIELDS-REASONABLE',
    title: 'A field section of 8000 octets is served',
    level: 'MUST',
    source: 'RFC 9110 §2.3, §5.4',
    label: `GET with ${REASONABLE_FIELDS} fields of ${REASONABLE_FIELD_OCTETS} octets`,
    request: (ep) =>
      rfcRequest(
        ep,
        'GET',
        Array.from({ length: REASONABLE_FIELDS }, (_, i) => headerLineOfLength(`X-Large-${i}`, REASONABLE_FIELD_OCTETS)),
      ),
    options: { methods: ['GET'] },
    acceptance: { serve: anyAnswer },
  }),
  singleRequestCheck({
    id: 'RFC-FIELDS-TOO-LARGE',
    title: 'A field larger than the server wishes to process gets a 4xx status',
    level: 'MUST',
    source: 'RFC 9110 §5.4',
    label: `GET with one field of ${OVERLONG_OCTETS} octets`,
    request: (ep) => rfcRequest(ep, 'GET', [headerLineOfLength('X-Huge', OVERLONG_OCTETS)]),
    options: { methods: ['GET'] },
    acceptance: { reject: [400, 413, 431], silentClose: false, serve: { expect: 'the server chose to process it', judge: () => null } },
  }),
];
