/**
 * The RFC 9112/9110 checks (conformance/catalogue/rfc-*.ts): their catalogue entries, a strict server that passes the
 * whole `rfc` profile, and, for every check, the same server with one flaw switched on failing it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { catalogue } from '../conformance/catalogue/index.ts';
import { rfcChunkedRequirements } from '../conformance/catalogue/rfc-chunked.ts';
import { rfcExpectRequirements } from '../conformance/catalogue/rfc-expect.ts';
import { rfcFieldRequirements } from '../conformance/catalogue/rfc-fields.ts';
import { rfcFramingRequirements } from '../conformance/catalogue/rfc-framing.ts';
import { rfcHostRequirements } from '../conformance/catalogue/rfc-host.ts';
import { rfcLimitRequirements } from '../conformance/catalogue/rfc-limits.ts';
import { rfcProtocolConfusionRequirements } from '../conformance/catalogue/rfc-protocol-confusion.ts';
import { rfcRequestLineRequirements } from '../conformance/catalogue/rfc-request-line.ts';
import { rfcResponseRequirements } from '../conformance/catalogue/rfc-response.ts';
import { rfcSmugglingRequirements } from '../conformance/catalogue/rfc-smuggling.ts';
import { rfcTransferEncodingRequirements } from '../conformance/catalogue/rfc-transfer-encoding.ts';
import { rfcWhitespaceRequirements } from '../conformance/catalogue/rfc-whitespace.ts';
import { judge, LIVENESS_PATH, SMUGGLED_PATH, type Acceptance, type Dialogue } from '../conformance/catalogue/rfc-kit.ts';
import { PROBE_CONTRACT, serialiseProbeReport } from '../conformance/probes/contract.ts';
import { selectRequirements } from '../conformance/runner.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { parseResponses } from '../conformance/wire/response-parser.ts';
import type { CloseState } from '../conformance/wire/types.ts';
import { startTinyServer, verdicts } from './support/catalogue-targets.ts';
import { FLAWS, rfcServer, type Flaw } from './support/rfc-server.ts';

const ours = [
  ...rfcRequestLineRequirements,
  ...rfcWhitespaceRequirements,
  ...rfcFieldRequirements,
  ...rfcHostRequirements,
  ...rfcFramingRequirements,
  ...rfcTransferEncodingRequirements,
  ...rfcChunkedRequirements,
  ...rfcSmugglingRequirements,
  ...rfcExpectRequirements,
  ...rfcProtocolConfusionRequirements,
  ...rfcLimitRequirements,
  ...rfcResponseRequirements,
];

/** The RFC- IDs SPEC.md defines itself (another module's); the rfc-*.ts modules add others only. */
const SPEC_RFC_IDS = ['RFC-RL-ERROR-STATUS', 'RFC-EMPTY-LINE', 'RFC-HEAD-NO-BODY'];
/** Sections of RFC 9112 or RFC 9110 only, e.g. "RFC 9112 §6.1, §6.3; RFC 9110 §8.6". */
const SOURCE = /^RFC 911[02] §\d+(\.\d+)*(, §\d+(\.\d+)*)*(; RFC 911[02] §\d+(\.\d+)*(, §\d+(\.\d+)*)*)*$/;

/** For each check, the flaws that break its requirement (and nothing the check needs to get there). */
const BREAKS: Record<string, readonly Flaw[]> = {
  'RFC-METHOD-TOKEN': ['any-method'],
  'RFC-VERSION-CASE': ['version-case-insensitive'],
  'RFC-VERSION-DIGITS': ['version-leading-zeros'],
  'RFC-VERSION-MINOR': ['echo-version'],
  'RFC-RL-WHITESPACE': ['split-on-single-space', 'any-target'],
  'RFC-TARGET-ABSOLUTE-FORM': ['absolute-form-as-path'],
  'RFC-TARGET-ASTERISK-GET': ['any-target'],
  'RFC-TARGET-CONTROL-CHAR': ['any-target'],
  'RFC-TARGET-FRAGMENT': ['any-target'],
  'RFC-TARGET-RELATIVE': ['any-target'],
  'RFC-BARE-CR-REQUEST-LINE': ['bare-cr-line-end'],
  'RFC-BARE-CR-FIELD-NAME': ['bare-cr-line-end'],
  'RFC-BARE-CR-FIELD-VALUE': ['bare-cr-line-end'],
  'RFC-BARE-LF-FIELD': ['lf-in-value'],
  'RFC-FIELD-NAME-SPACE-BEFORE-COLON': ['trim-field-name'],
  'RFC-FIELD-NAME-TAB-BEFORE-COLON': ['trim-field-name'],
  'RFC-WS-BEFORE-FIRST-FIELD': ['whitespace-led-field'],
  'RFC-OBS-FOLD': ['keep-obs-fold'],
  'RFC-FIELD-NAME-INVALID-CHAR': ['any-field-name'],
  'RFC-FIELD-NAME-EMPTY': ['any-field-name'],
  'RFC-FIELD-NO-COLON': ['colonless-ends-head'],
  'RFC-FIELD-VALUE-NUL': ['ctl-in-value'],
  'RFC-CONNECTION-CLOSE-CASE': ['close-case-sensitive'],
  'RFC-CONNECTION-CLOSE-LIST': ['close-whole-value'],
  'RFC-HOST-MISSING': ['no-host-check'],
  'RFC-HOST-DUPLICATE': ['no-host-check'],
  'RFC-HOST-INVALID': ['no-host-check'],
  'RFC-HOST-ABSOLUTE-FORM': ['host-header-wins'],
  'RFC-CL-PLUS-SIGN': ['cl-parse-int'],
  'RFC-CL-NEGATIVE': ['cl-parse-int'],
  'RFC-CL-NON-DIGIT': ['cl-parse-int'],
  'RFC-CL-DIGIT-SEPARATOR': ['cl-parse-int'],
  'RFC-CL-LIST-UNEQUAL': ['cl-parse-int'],
  'RFC-CL-LIST-EQUAL': ['cl-invalid-as-zero'],
  'RFC-CL-DUPLICATE-EQUAL': ['cl-invalid-as-zero'],
  'RFC-CL-DUPLICATE-UNEQUAL': ['cl-invalid-as-zero'],
  'RFC-CL-LEADING-ZEROS': ['cl-octal'],
  'RFC-CL-OVERFLOW': ['cl-wraps-64'],
  'RFC-CL-GET-BODY': ['get-has-no-body'],
  'RFC-TE-NOT-FINAL-CHUNKED': ['te-substring-chunked'],
  'RFC-TE-UNKNOWN': ['te-substring-chunked'],
  'RFC-TE-DOUBLE-CHUNKED': ['te-ignored'],
  'RFC-TE-CASE-INSENSITIVE': ['te-raw-compare'],
  'RFC-TE-LEADING-SPACE': ['te-raw-compare'],
  'RFC-TE-TAB': ['te-raw-compare'],
  'RFC-TE-EMPTY-ELEMENT': ['te-raw-compare'],
  'RFC-TE-SPACE-BEFORE-COLON': ['trim-field-name'],
  'RFC-TE-HTTP10': ['te-ignored'],
  'RFC-CHUNK-DECODE': ['te-ignored'],
  'RFC-CHUNK-SIZE-INVALID': ['chunk-error-500'],
  'RFC-CHUNK-SIZE-PREFIX': ['chunk-size-parse-int'],
  'RFC-CHUNK-SIZE-OVERFLOW': ['chunk-size-wraps'],
  'RFC-CHUNK-DATA-NO-CRLF': ['chunk-data-unchecked'],
  'RFC-CHUNK-EXTENSIONS': ['chunk-ext-rejected'],
  'RFC-CHUNK-EXTENSION-BARE-CR': ['te-ignored'],
  'RFC-CHUNK-BARE-LF': ['te-ignored'],
  'RFC-CHUNK-TRAILER': ['trailers-unsupported'],
  'RFC-CL-TE-CLOSE': ['te-over-cl-keep-alive'],
  'RFC-SMUGGLE-CL-TE': ['te-over-cl-keep-alive'],
  'RFC-SMUGGLE-TE-CL': ['te-ignored'],
  'RFC-SMUGGLE-TE-TE': ['te-ignored'],
  'RFC-EXPECT-UNKNOWN': ['expect-exact-or-close'],
  'RFC-EXPECT-HTTP10': ['expect-any-version'],
  'RFC-EXPECT-CASE-INSENSITIVE': ['expect-exact-or-close'],
  'RFC-H2-PREFACE': ['any-version', 'any-target', 'no-host-check'],
  'RFC-PROXY-V1': ['skip-proxy-header'],
  'RFC-PROXY-V2': ['skip-proxy-header'],
  'RFC-TARGET-8000': ['small-head-limit'],
  'RFC-TARGET-TOO-LONG': ['small-head-limit'],
  'RFC-FIELDS-REASONABLE': ['small-head-limit'],
  'RFC-FIELDS-TOO-LARGE': ['small-head-limit'],
  'RFC-RESP-STATUS-LINE': ['status-line-no-reason'],
  'RFC-RESP-CONTENT-LENGTH': ['content-length-off-by-one'],
  'RFC-RESP-204-NO-CONTENT': ['body-on-no-content'],
  'RFC-RESP-304-NO-CONTENT': ['body-on-no-content'],
  'RFC-RESP-204-NO-CONTENT-LENGTH': ['body-on-no-content'],
  'RFC-RESP-DATE': ['no-date'],
  'RFC-RESP-NO-TE-HTTP10': ['chunked-to-http10'],
  'RFC-RESP-TE-NO-CONTENT-LENGTH': ['te-with-content-length'],
};

describe('the RFC catalogue entries', () => {
  test('at least 60 new RFC- IDs, each once in the catalogue, none of them SPEC.md\'s', () => {
    const ids = ours.map((requirement) => requirement.id);
    expect(ids.length).toBeGreaterThanOrEqual(60);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^RFC-[A-Z0-9]+(-[A-Z0-9]+)*$/);
      expect(SPEC_RFC_IDS).not.toContain(id);
      expect(catalogue.filter((requirement) => requirement.id === id)).toHaveLength(1);
    }
  });

  test('each is in the rfc profile only, with an RFC 2119 level and an RFC 9112/9110 section as its source', () => {
    for (const requirement of ours) {
      expect(requirement.profiles, requirement.id).toEqual(['rfc']);
      expect(['MUST', 'SHOULD', 'MAY'], requirement.id).toContain(requirement.level);
      expect(requirement.source, requirement.id).toMatch(SOURCE);
      expect(requirement.title.length, requirement.id).toBeGreaterThan(10);
    }
  });

  test('every check has a flaw that breaks it, and every flaw breaks some check', () => {
    expect(Object.keys(BREAKS).sort()).toEqual(ours.map((requirement) => requirement.id).sort());
    expect([...new Set(Object.values(BREAKS).flat())].sort()).toEqual([...FLAWS].sort());
  });
});

describe('a strict server', () => {
  let target: RunningTarget;
  beforeAll(async () => {
    target = await startTinyServer('strict RFC server', rfcServer());
  });
  afterAll(async () => {
    await target.stop();
  });

  test('passes every check of the rfc profile, SPEC\'s included', async () => {
    const profile = selectRequirements(catalogue, { profiles: ['rfc'] });
    const records = await verdicts(profile, target, 'threaded');
    const notPassed = [...records.values()].filter((record) => record.verdict !== 'pass').map((record) => `${record.id}: ${record.verdict}: ${record.actual || record.reason}`);
    expect(notPassed).toEqual([]);
    expect(records.size).toBe(profile.length);
  }, 60_000);
});

describe.concurrent('the strict server with the flaw a check is about', () => {
  test.each(ours.map((requirement) => [requirement.id, requirement] as const))('fails %s', async (id, requirement) => {
    const flaws = BREAKS[id]!;
    const target = await startTinyServer(`RFC server with ${flaws.join(', ')}`, rfcServer(flaws));
    try {
      const record = (await verdicts([requirement], target, 'threaded')).get(id)!;
      expect(record.verdict, `${record.actual || record.reason}`).toBe('fail');
    } finally {
      await target.stop();
    }
  }, 30_000);
});

/** What a server sent on one connection, read as the judge reads it: `requests` of the check's own, then the follow-up if `followed`. */
function dialogue(received: string, options: { requests?: number; followed: boolean; close?: CloseState }): Dialogue {
  const requests = options.requests ?? 1;
  const bytes = Buffer.from(received, 'latin1');
  const { responses } = parseResponses(bytes, [], true);
  return {
    conversation: { sent: Buffer.alloc(0), received: bytes, responses, close: options.close ?? 'eof', elapsedMs: 0 },
    answers: responses.slice(0, requests),
    extra: responses.slice(requests),
    followed: options.followed,
  };
}

function response(status: number, body = ''): string {
  return `HTTP/1.1 ${status} Status\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

function probeAnswer(path: string): string {
  const report = serialiseProbeReport({ contract: PROBE_CONTRACT, environ: { PATH_INFO: path, REQUEST_METHOD: 'GET' }, objects: {}, body: { length: 0, base64: '' } });
  return response(200, report.toString('latin1'));
}

describe('the judge of a dialogue', () => {
  const rejectAndClose: Acceptance = { reject: [400], closeAfterReject: true };
  const served: Acceptance = { serve: { expect: 'served', judge: () => null } };

  test('a rejection followed by an answered follow-up fails only when the RFC asks for the close', () => {
    const stayed = dialogue(response(400) + probeAnswer(LIVENESS_PATH), { followed: true });
    expect(judge(stayed, rejectAndClose)).toMatchObject({ verdict: 'fail', seen: expect.stringMatching(/the connection must close/) });
    expect(judge(stayed, { reject: [400] })).toMatchObject({ verdict: 'pass', seen: expect.stringMatching(/stayed open/) });
  });

  test('a rejection, then the close, passes; so does a close without a word when rejecting is allowed', () => {
    expect(judge(dialogue(response(400), { followed: false }), rejectAndClose).verdict).toBe('pass');
    expect(judge(dialogue('', { followed: false }), rejectAndClose)).toMatchObject({ verdict: 'pass', seen: expect.stringMatching(/no response/) });
    expect(judge(dialogue('', { followed: false }), served)).toMatchObject({ verdict: 'fail', seen: expect.stringMatching(/not served/) });
  });

  test('any response to bytes that were not a request fails, the follow-up\'s own answer aside', () => {
    expect(judge(dialogue(response(200) + probeAnswer(LIVENESS_PATH), { followed: true }), served).verdict).toBe('pass');
    expect(judge(dialogue(response(200) + response(400) + probeAnswer(LIVENESS_PATH), { followed: true }), served)).toMatchObject({
      verdict: 'fail',
      seen: expect.stringMatching(/1 more response\(s\) to bytes that were not a request/),
    });
    expect(judge(dialogue(response(200) + probeAnswer(LIVENESS_PATH), { followed: false }), served).verdict).toBe('fail');
    expect(judge(dialogue(response(200) + probeAnswer(SMUGGLED_PATH) + probeAnswer(LIVENESS_PATH), { followed: true }), served)).toMatchObject({
      verdict: 'fail',
      seen: expect.stringMatching(/request hidden in the body \(\/h1spec-smuggled\) was answered/),
    });
  });

  test('an answer without a status line, or a status outside the acceptable ones, fails', () => {
    expect(judge(dialogue('<html>Error code: 400</html>', { followed: false }), rejectAndClose)).toMatchObject({
      verdict: 'fail',
      seen: expect.stringMatching(/without a status line/),
    });
    expect(judge(dialogue(response(200), { followed: false }), rejectAndClose).verdict).toBe('fail');
    expect(judge(dialogue(response(500), { followed: false }), { ...rejectAndClose, ...served }).verdict).toBe('fail');
  });

  test('a served request is judged by its service, and by the close when the RFC asks for it', () => {
    const wrong: Acceptance = { serve: { expect: 'right', judge: () => 'it was wrong' } };
    expect(judge(dialogue(response(200), { followed: false }), wrong)).toMatchObject({ verdict: 'fail', seen: expect.stringMatching(/but it was wrong/) });
    const stayed = dialogue(response(200) + probeAnswer(LIVENESS_PATH), { followed: true });
    expect(judge(stayed, { ...served, closeAfterServe: true }).verdict).toBe('fail');
    expect(judge(dialogue(response(200), { followed: true }), { ...served, closeAfterServe: true }).verdict).toBe('pass');
  });
});
