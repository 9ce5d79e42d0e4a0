import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser, type Result } from 'tap-parser';
import { afterEach, describe, expect, it } from 'vitest';
import type { Evidence } from '../conformance/catalogue/types.ts';
import { writeFileAtomic } from '../conformance/reporters/files.ts';
import { renderJson, type JsonReport } from '../conformance/reporters/json.ts';
import { renderSummary } from '../conformance/reporters/summary.ts';
import { renderTap } from '../conformance/reporters/tap.ts';
import { exitCodeFor, VERDICTS, type CheckRecord, type RunReport } from '../conformance/runner.ts';
import { escapeBytes } from '../conformance/wire/escape.ts';

/** Bytes that break naive TAP/YAML writers: NULs, quotes, colons, YAML and TAP markers, CR/LF, high bytes. */
const HOSTILE = Buffer.concat([
  Buffer.from('GET /"\'a: b #c \\d HTTP/1.1\r\n---\n...\nBail out! now\n- x: &y *z !w\r\n'),
  Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xff, 0x00]),
  Buffer.from(`X-Long: ${'v:'.repeat(3000)}\r\n\r\n`),
]);

const evidence = (label: string, sent: Buffer = HOSTILE, received: Buffer = Buffer.from('HTTP/1.1 400 Bad\r\n\r\n\x00')): Evidence => ({
  label,
  sent,
  received,
  close: 'eof',
});

function record(id: string, verdict: CheckRecord['verdict'], more: Partial<CheckRecord> = {}): CheckRecord {
  return {
    id,
    title: `title of ${id}: with # hash, \\ backslash`,
    level: 'MUST',
    profiles: ['django', 'rfc'],
    source: 'RFC 9112 §2.2',
    verdict,
    scored: true,
    expected: 'a status line: "HTTP/1.1 400"\nor a close',
    actual: 'got: \x00 nothing',
    evidence: [],
    durationMs: 12,
    ...more,
  };
}

function reportOf(results: CheckRecord[], more: Partial<RunReport> = {}): RunReport {
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, results.filter((r) => r.verdict === v).length])) as RunReport['counts'];
  return {
    tool: { name: 'h1spec', version: '0.1.0' },
    target: '127.0.0.1:8000 (--target)',
    endpoint: { host: '127.0.0.1', port: 8000 },
    targetFlags: ['--target', '[::1]:8000', '--mode', 'serial'],
    profiles: ['django'],
    strict: false,
    mode: 'threaded',
    probe: true,
    log: false,
    manifest: 'expect.yaml',
    started: '2025-01-01T00:00:00.000Z',
    finished: '2025-01-01T00:00:01.000Z',
    wallMs: 1000,
    counts,
    death: null,
    results,
    ...more,
  };
}

const MIXED = [
  record('T-PASS', 'pass'),
  record('T-FAIL', 'fail', { evidence: [evidence('hostile'), evidence('second')] }),
  record('T-SKIP', 'skip', { reason: 'needs the probe application (see README: probes)', scored: true }),
  record('T-ERROR', 'error', { reason: 'timed out after 50 ms' }),
  record('T-XFAIL', 'xfail', { expectation: { verdict: 'fail', reason: 'Django closes on a blank line' } }),
  record('T-XPASS', 'xpass', { expectation: { verdict: 'fail', reason: 'was broken' } }),
  record('T-SHOULD', 'fail', { level: 'SHOULD', scored: false }),
];

interface Parsed {
  final: { ok: boolean; count: number; pass: number; fail: number; todo: number; skip: number; plan: { start: number; end: number } };
  asserts: Result[];
  bailout: boolean;
  extra: string[];
}

function parseTap(text: string): Parsed {
  const asserts: Result[] = [];
  const extra: string[] = [];
  let bailout = false;
  let final: Parsed['final'] | undefined;
  const parser = new Parser({ strict: true }, (results) => (final = results as unknown as Parsed['final']));
  parser.on('assert', (result: Result) => asserts.push(result));
  parser.on('bailout', () => (bailout = true));
  parser.on('extra', (line: string) => extra.push(line));
  parser.end(text);
  if (!final) throw new Error('tap-parser did not complete');
  return { final, asserts, bailout, extra };
}

describe('renderTap', () => {
  it('parses cleanly in strict mode, one point per check, and agrees with the exit code', () => {
    const report = reportOf(MIXED);
    const tap = renderTap(report);
    expect(tap.startsWith('TAP version 14\n1..7\n')).toBe(true);
    const parsed = parseTap(tap);
    expect(parsed.bailout).toBe(false);
    expect(parsed.extra).toEqual([]);
    expect(parsed.final.plan).toMatchObject({ start: 1, end: 7 });
    expect(parsed.final.count).toBe(7);
    expect(parsed.asserts.map((a) => a.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parsed.final.ok).toBe(false);
    expect(exitCodeFor(report)).toBe(1);
    expect(parsed.asserts.filter((a) => !a.ok && !a.todo).map((a) => a.name.split(':')[0])).toEqual(['T-FAIL', 'T-ERROR', 'T-XPASS']);
  });

  it('marks skips with SKIP, and expected or unscored failures with TODO', () => {
    const parsed = parseTap(renderTap(reportOf(MIXED)));
    const byId = Object.fromEntries(parsed.asserts.map((a) => [a.name.split(':')[0], a]));
    expect(byId['T-PASS']).toMatchObject({ ok: true, name: 'T-PASS: title of T-PASS: with # hash, \\ backslash' });
    expect(byId['T-SKIP']).toMatchObject({ ok: true, skip: 'needs the probe application (see README: probes)' });
    expect(byId['T-XFAIL']).toMatchObject({ ok: false, todo: 'expected fail: Django closes on a blank line' });
    expect(byId['T-SHOULD']).toMatchObject({ ok: false, todo: 'not scored: SHOULD (--strict makes it count)' });
    expect(byId['T-XPASS']!.todo).toBeFalsy();
  });

  it('is ok as a whole when only expected and unscored failures remain', () => {
    const report = reportOf([MIXED[0]!, MIXED[2]!, MIXED[4]!, MIXED[6]!]);
    expect(parseTap(renderTap(report)).final.ok).toBe(true);
    expect(exitCodeFor(report)).toBe(0);
  });

  it('carries every detail in the YAML diagnostic, bytes escaped exactly and hostile text intact', () => {
    const parsed = parseTap(renderTap(reportOf(MIXED)));
    const failed = parsed.asserts.find((a) => a.name.startsWith('T-FAIL'))!;
    expect(failed.diag).toMatchObject({
      verdict: 'fail',
      scored: true,
      level: 'MUST',
      profiles: ['django', 'rfc'],
      source: 'RFC 9112 §2.2',
      expected: 'a status line: "HTTP/1.1 400"\nor a close',
      actual: 'got: \x00 nothing',
      rerun: "npx h1spec run --only T-FAIL --target '[::1]:8000' --mode serial",
    });
    const [first] = failed.diag!.evidence as Array<Record<string, string>>;
    expect(first).toEqual({
      label: 'hostile',
      sent: escapeBytes(HOSTILE, 2048),
      received: 'HTTP/1.1 400 Bad\\r\\n\\r\\n\\x00',
      close: 'eof',
    });
    expect(first!.sent).toContain('\\x00\\x01\\x7f\\x80\\xff\\x00');
    expect(first!.sent).toMatch(/\d+ more bytes\]$/);
    const error = parsed.asserts.find((a) => a.name.startsWith('T-ERROR'))!;
    expect(error.diag).toMatchObject({ verdict: 'error', reason: 'timed out after 50 ms' });
    const xpass = parsed.asserts.find((a) => a.name.startsWith('T-XPASS'))!;
    expect(xpass.diag).toMatchObject({ verdict: 'xpass', manifest: { verdict: 'fail', reason: 'was broken' } });
  });

  it('keeps a very long escaped line on one YAML line', () => {
    const long = Buffer.from('a: b '.repeat(400));
    const tap = renderTap(reportOf([record('T-LONG', 'fail', { evidence: [evidence('long', long)] })]));
    expect(tap.split('\n').some((line) => line.includes(escapeBytes(long, 2048)))).toBe(true);
    expect(parseTap(tap).asserts[0]!.diag!.evidence).toEqual([expect.objectContaining({ sent: escapeBytes(long, 2048) })]);
  });

  it('reports the target’s death once, as a comment', () => {
    const tap = renderTap(reportOf(MIXED, { death: { after: 'T-FAIL', detail: 'connect ECONNREFUSED' } }));
    expect(tap.match(/target died/g)).toEqual(['target died']);
    expect(parseTap(tap).extra).toEqual([]);
  });
});

describe('renderJson', () => {
  it('has the documented shape, with escaped and base64 evidence and scored flags', () => {
    const report = reportOf(MIXED, { death: { after: 'T-ERROR', detail: 'gone' } });
    const json = JSON.parse(renderJson(report)) as JsonReport;
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining(['tool', 'target', 'profiles', 'strict', 'started', 'finished', 'summary', 'results']),
    );
    expect(json.tool).toEqual({ name: 'h1spec', version: '0.1.0' });
    expect(json.summary).toMatchObject({ pass: 1, fail: 2, skip: 1, error: 1, xfail: 1, xpass: 1, total: 7, exitCode: 1 });
    expect(json.summary.failing).toEqual(['T-FAIL', 'T-ERROR', 'T-XPASS']);
    expect(json.death).toEqual({ after: 'T-ERROR', detail: 'gone' });
    const failed = json.results[1]!;
    expect(Object.keys(failed)).toEqual([
      'id', 'title', 'level', 'profiles', 'source', 'verdict', 'scored', 'expected', 'actual', 'evidence', 'durationMs', 'rerun',
    ]);
    const [hostile] = failed.evidence;
    expect(Buffer.from(hostile!.sentBase64, 'base64').equals(HOSTILE)).toBe(true);
    expect(hostile!.sent).toBe(escapeBytes(HOSTILE, Infinity));
    expect(Buffer.from(hostile!.receivedBase64, 'base64').toString('latin1')).toBe('HTTP/1.1 400 Bad\r\n\r\n\x00');
    expect(json.results[6]).toMatchObject({ id: 'T-SHOULD', verdict: 'fail', scored: false });
    expect(json.results[2]).toMatchObject({ verdict: 'skip', reason: 'needs the probe application (see README: probes)' });
  });
});

describe('renderSummary', () => {
  it('gives counts per verdict, what failed, what did not count, the death, and the exit reason', () => {
    const text = renderSummary(reportOf(MIXED, { death: { after: 'T-ERROR', detail: 'gone' } }));
    expect(text).toContain('7 checks against 127.0.0.1:8000 (--target) in 1.0 s: 1 pass, 2 fail, 1 error, 1 skip, 1 xfail, 1 xpass');
    expect(text).toContain('failing: T-FAIL (fail), T-ERROR (error), T-XPASS (xpass)');
    expect(text).toContain('not scored (SHOULD/MAY; --strict makes them count): T-SHOULD (fail)');
    expect(text.match(/died/g)).toHaveLength(1);
    expect(text.trimEnd().split('\n').at(-1)).toBe('exit 1: 3 scored results failed the run');
    expect(renderSummary(reportOf([MIXED[0]!])).trimEnd().split('\n').at(-1)).toBe('exit 0: every scored check passed or went as expected');
  });
});

describe('writeFileAtomic', () => {
  const folders: string[] = [];
  afterEach(async () => {
    await Promise.all(folders.splice(0).map((f) => rm(f, { recursive: true, force: true })));
  });

  it('creates missing folders, replaces an old file whole, and leaves no temporary file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'h1spec-reporters-'));
    folders.push(root);
    const path = join(root, 'deep', 'er', 'report.json');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, 'second');
    expect(await readFile(path, 'utf8')).toBe('second');
    expect(await readdir(join(root, 'deep', 'er'))).toEqual(['report.json']);
  });

  it('fails without leaving a temporary file when the path is a folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'h1spec-reporters-'));
    folders.push(root);
    await mkdir(join(root, 'report'));
    await writeFile(join(root, 'report', 'keep.txt'), 'old');
    await expect(writeFileAtomic(join(root, 'report'), 'new')).rejects.toThrow();
    expect(await readdir(root)).toEqual(['report']);
    expect(await readFile(join(root, 'report', 'keep.txt'), 'utf8')).toBe('old');
  });
});
