/**
 * RFC 9112 §2.2, §5.1, §5.2 and RFC 9110 §5.5: line ends and whitespace in the request head. A bare CR or LF, or
 * whitespace in the wrong place, must never let a server see fields (or a line end) the sender did not write.
 */
import { environOf, hostOf, show } from './check-kit.ts';
import { environKeysWith, environText, fieldLinesCheck, head, reportSays, RFC_PATH, singleRequestCheck, withLine, type Acceptance } from './rfc-kit.ts';
import type { Requirement } from './types.ts';

const rejected: Acceptance = { reject: [400] };

export const rfcWhitespaceRequirements: Requirement[] = [
  singleRequestCheck({
    id: 'RFC-BARE-CR-REQUEST-LINE',
    title: 'A bare CR in the request line makes it invalid; it never ends the line',
    level: 'MUST',
    source: 'RFC 9112 §2.2, §3',
    label: 'GET whose request line goes on after a bare CR with "X-Injected: 1"',
    // Read as SP, the CR gives a request line of five words (invalid); read as a line end, it injects a field.
    request: (ep) => withLine(ep, `GET ${RFC_PATH} HTTP/1.1\rX-Injected: 1`),
    options: { methods: ['GET'] },
    acceptance: rejected,
  }),
  fieldLinesCheck({
    id: 'RFC-BARE-CR-FIELD-NAME',
    title: 'A bare CR in a field name makes the request invalid',
    level: 'MUST',
    source: 'RFC 9112 §2.2, §5.1',
    what: 'the field line "X\\rInjected: 1"',
    lines: ['X\rInjected: 1'],
    acceptance: rejected,
  }),
  fieldLinesCheck({
    id: 'RFC-BARE-CR-FIELD-VALUE',
    title: 'A bare CR in a field value is rejected, or replaced by a space',
    level: 'MUST',
    source: 'RFC 9112 §2.2; RFC 9110 §5.5',
    what: 'the field "X-Value: a\\rb"',
    lines: ['X-Value: a\rb'],
    acceptance: {
      ...rejected,
      serve: reportSays('the application sees X-Value as "a b"', (report) =>
        environOf(report, 'HTTP_X_VALUE') === 'a b' ? null : `the application sees HTTP_X_VALUE ${environText(report, 'HTTP_X_VALUE')}`,
      ),
    },
  }),
  fieldLinesCheck({
    id: 'RFC-BARE-LF-FIELD',
    title: 'A bare LF in the field section ends the field line, or is rejected, or replaced by a space; it never reaches a value',
    level: 'MUST',
    source: 'RFC 9112 §2.2; RFC 9110 §5.5',
    what: 'the field lines "X-First: 1\\nX-Second: 2"',
    lines: ['X-First: 1\nX-Second: 2'],
    acceptance: {
      ...rejected,
      serve: reportSays('the application sees X-First "1" and X-Second "2", or X-First "1 X-Second: 2"', (report) => {
        const first = environOf(report, 'HTTP_X_FIRST');
        const second = environOf(report, 'HTTP_X_SECOND');
        const asLineEnd = first === '1' && second === '2';
        const asSpace = first === '1 X-Second: 2' && second === undefined;
        return asLineEnd || asSpace ? null : `the application sees HTTP_X_FIRST ${show(first)} and HTTP_X_SECOND ${show(second)}`;
      }),
    },
  }),
  fieldLinesCheck({
    id: 'RFC-FIELD-NAME-SPACE-BEFORE-COLON',
    title: 'A space between a field name and its colon is rejected with 400',
    level: 'MUST',
    source: 'RFC 9112 §5.1',
    what: 'the field line "X-Value : 1"',
    lines: ['X-Value : 1'],
    acceptance: rejected,
  }),
  fieldLinesCheck({
    id: 'RFC-FIELD-NAME-TAB-BEFORE-COLON',
    title: 'A tab between a field name and its colon is rejected with 400',
    level: 'MUST',
    source: 'RFC 9112 §5.1',
    what: 'the field line "X-Value\\t: 1"',
    lines: ['X-Value\t: 1'],
    acceptance: rejected,
  }),
  singleRequestCheck({
    id: 'RFC-WS-BEFORE-FIRST-FIELD',
    title: 'A whitespace-led line right after the request line is rejected, or ignored with its field',
    level: 'MUST',
    source: 'RFC 9112 §2.2',
    label: 'GET whose first field line is " X-Injected: 1"',
    request: (ep) => head([`GET ${RFC_PATH} HTTP/1.1`, ' X-Injected: 1', `Host: ${hostOf(ep)}`]),
    options: { methods: ['GET'] },
    acceptance: {
      ...rejected,
      serve: reportSays('the application sees no X-Injected', (report) => {
        const keys = environKeysWith(report, 'INJECTED');
        return keys.length === 0 ? null : `the application sees ${keys.map((key) => `${key} ${environText(report, key)}`).join(', ')}`;
      }),
    },
  }),
  fieldLinesCheck({
    id: 'RFC-OBS-FOLD',
    title: 'A folded field line (obs-fold) is rejected, or the fold replaced by spaces',
    level: 'MUST',
    source: 'RFC 9112 §5.2',
    what: 'the field "X-Folded: a" continued by the line " b"',
    lines: ['X-Folded: a', ' b'],
    acceptance: {
      ...rejected,
      serve: reportSays('the application sees X-Folded as "a" and "b" joined by spaces', (report) => {
        const value = environOf(report, 'HTTP_X_FOLDED');
        return typeof value === 'string' && /^a +b$/.test(value) ? null : `the application sees HTTP_X_FOLDED ${show(value)}`;
      }),
    },
  }),
];
