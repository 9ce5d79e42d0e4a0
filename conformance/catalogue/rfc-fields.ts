/**
 * RFC 9110 §5.1, §5.5, §7.6.1 and RFC 9112 §5, §9.6: what a field line may hold, and the Connection field's "close".
 * A malformed field may be rejected or dropped (RFC 9110 §2.4 lets a recipient recover), but never handed on as if valid.
 */
import type { ProbeReport } from '../probes/contract.ts';
import { environOf } from './check-kit.ts';
import { environKeysWith, environText, fieldLinesCheck, reportSays, type Acceptance } from './rfc-kit.ts';
import type { Requirement } from './types.ts';

/** Rejected with 400, or served with the field dropped: `leaked` names what the application must not see. */
function rejectedOrDropped(expect: string, leaked: (report: ProbeReport) => string | null): Acceptance {
  return { reject: [400], serve: reportSays(expect, leaked) };
}

const closes: Acceptance = { serve: { expect: 'answered', judge: () => null }, closeAfterServe: true };

export const rfcFieldRequirements: Requirement[] = [
  fieldLinesCheck({
    id: 'RFC-FIELD-NAME-INVALID-CHAR',
    title: 'A field name that is not a token is rejected, or the field dropped',
    level: 'SHOULD',
    source: 'RFC 9110 §5.1, §2.4; RFC 9112 §5',
    what: 'the field "X(Injected): 1"',
    lines: ['X(Injected): 1'],
    acceptance: rejectedOrDropped('the application sees no X(Injected)', (report) => {
      const keys = environKeysWith(report, 'INJECTED');
      return keys.length === 0 ? null : `the application sees ${keys.join(', ')}`;
    }),
  }),
  fieldLinesCheck({
    id: 'RFC-FIELD-NAME-EMPTY',
    title: 'A field line with an empty name is rejected, or dropped',
    level: 'SHOULD',
    source: 'RFC 9110 §5.1, §2.4; RFC 9112 §5',
    what: 'the field line ": empty-name"',
    lines: [': empty-name'],
    acceptance: rejectedOrDropped('the application sees no field with an empty name', (report) => {
      const keys = Object.keys(report.environ).filter((key) => key === 'HTTP_' || report.environ[key] === 'empty-name');
      return keys.length === 0 ? null : `the application sees ${keys.join(', ')}`;
    }),
  }),
  fieldLinesCheck({
    id: 'RFC-FIELD-NO-COLON',
    title: 'A field line without a colon is rejected, or dropped while the fields after it are read',
    level: 'SHOULD',
    source: 'RFC 9112 §5; RFC 9110 §2.4',
    what: 'the line "X-No-Colon value" followed by "X-After: 1"',
    lines: ['X-No-Colon value', 'X-After: 1'],
    acceptance: rejectedOrDropped('the application sees X-After "1" and nothing of the line without a colon', (report) => {
      if (environOf(report, 'HTTP_X_AFTER') !== '1') return `the application sees HTTP_X_AFTER ${environText(report, 'HTTP_X_AFTER')}`;
      const keys = environKeysWith(report, 'NO_COLON');
      return keys.length === 0 ? null : `the application sees ${keys.join(', ')}`;
    }),
  }),
  fieldLinesCheck({
    id: 'RFC-FIELD-VALUE-NUL',
    title: 'A NUL in a field value is rejected, or replaced by a space',
    level: 'MUST',
    source: 'RFC 9110 §5.5',
    what: 'the field "X-Value: a\\0b"',
    lines: ['X-Value: a\0b'],
    acceptance: {
      reject: [400],
      serve: reportSays('the application sees X-Value as "a b"', (report) =>
        environOf(report, 'HTTP_X_VALUE') === 'a b' ? null : `the application sees HTTP_X_VALUE ${environText(report, 'HTTP_X_VALUE')}`,
      ),
    },
  }),
  fieldLinesCheck({
    id: 'RFC-CONNECTION-CLOSE-CASE',
    title: '"Connection: CLOSE" closes the connection after the response (options are case-insensitive)',
    level: 'MUST',
    source: 'RFC 9112 §9.6; RFC 9110 §7.6.1',
    what: '"Connection: CLOSE"',
    lines: ['Connection: CLOSE'],
    acceptance: closes,
  }),
  fieldLinesCheck({
    id: 'RFC-CONNECTION-CLOSE-LIST',
    title: '"close" among other Connection options closes the connection after the response',
    level: 'MUST',
    source: 'RFC 9112 §9.6; RFC 9110 §7.6.1',
    what: '"Connection: keep-alive, close"',
    lines: ['Connection: keep-alive, close'],
    acceptance: closes,
  }),
];
