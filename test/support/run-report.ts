/** Run reports built by hand, for reporter tests: one of every verdict, and text and bytes that break naive writers. */
import type { Evidence } from '../../conformance/catalogue/types.ts';
import { VERDICTS, type CheckRecord, type RunReport } from '../../conformance/runner.ts';

/** NULs, quotes, markup, XML-forbidden controls, CR/LF and high bytes: what a server may send back. */
export const HOSTILE_BYTES = Buffer.concat([
  Buffer.from('HTTP/1.1 400 <Bad> & "worse"\r\nX-A: ]]>\r\n\r\n'),
  Buffer.from([0x00, 0x01, 0x0b, 0x1b, 0x7f, 0x80, 0xfe, 0xff]),
]);

/** Text a check might report: a NUL, an XML-forbidden control, a lone surrogate, U+FFFE, markup. */
export const HOSTILE_TEXT = 'got "\x00\x1b" <b>&</b> \ud800 \ufffe end';

export function evidenceOf(label: string, received: Buffer = HOSTILE_BYTES): Evidence {
  return { label, sent: Buffer.from('GET / HTTP/1.1\r\nHost: t\r\n\r\n'), received, close: 'eof' };
}

export function recordOf(id: string, verdict: CheckRecord['verdict'], more: Partial<CheckRecord> = {}): CheckRecord {
  return {
    id,
    title: `title of ${id}`,
    level: 'MUST',
    profiles: ['rfc'],
    source: 'RFC 9112 §2.2',
    verdict,
    scored: true,
    expected: 'a 400 response, or a close',
    actual: `seen for ${id}`,
    evidence: [],
    durationMs: 12,
    ...more,
  };
}

export function reportOf(results: CheckRecord[], more: Partial<RunReport> = {}): RunReport {
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, results.filter((r) => r.verdict === v).length])) as RunReport['counts'];
  return {
    tool: { name: 'h1spec', version: '0.1.0' },
    target: '127.0.0.1:8000 (--target)',
    endpoint: { host: '127.0.0.1', port: 8000 },
    targetFlags: ['--target', '127.0.0.1:8000'],
    profiles: ['rfc'],
    strict: false,
    mode: 'threaded',
    probe: true,
    log: false,
    manifest: 'expect.yaml',
    started: '2025-01-02T03:04:05.678Z',
    finished: '2025-01-02T03:04:06.678Z',
    wallMs: 1000,
    counts,
    death: null,
    results,
    ...more,
  };
}

/** One result of every verdict, across three areas, one a SHOULD that failed without counting. */
export const MIXED: CheckRecord[] = [
  recordOf('ENV-PASS', 'pass', { evidence: [evidenceOf('served')] }),
  recordOf('ENV-FAIL', 'fail', { actual: HOSTILE_TEXT, evidence: [evidenceOf('hostile'), evidenceOf('second', Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))] }),
  recordOf('KA-SKIP', 'skip', { reason: 'needs the probe application' }),
  recordOf('KA-ERROR', 'error', { actual: '', reason: 'timed out after 50 ms' }),
  recordOf('RFC-XFAIL', 'xfail', { expectation: { verdict: 'fail', reason: 'Django closes on a blank line' }, evidence: [evidenceOf('blank line')] }),
  recordOf('RFC-XPASS', 'xpass', { expectation: { verdict: 'fail', reason: 'was broken' } }),
  recordOf('RFC-SHOULD', 'fail', { level: 'SHOULD', scored: false, evidence: [evidenceOf('should')] }),
];
