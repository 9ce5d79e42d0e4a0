import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseJunit, type TestCase, type TestSuite, type TestSuites } from 'junit2json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseDocument } from 'yaml';
import { renderJunit } from '../conformance/reporters/junit.ts';
import { escapeBytes } from '../conformance/wire/escape.ts';
import { HOSTILE_BYTES, MIXED, reportOf } from './support/run-report.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const SCHEMA = join(ROOT, 'test/support/junit.xsd');
const XMLLINT = '/usr/bin/xmllint';
const xmllintMissing = spawnSync(XMLLINT, ['--version']).error ? `${XMLLINT} is not installed: apt-get install -y libxml2-utils` : null;

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'h1spec-junit-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** What a JUnit consumer (junit2json, over xml2js) makes of the XML. */
async function consume(xml: string): Promise<TestSuites> {
  const parsed = (await parseJunit(xml)) as TestSuites | null;
  expect(parsed?.testsuite).toBeDefined();
  return parsed!;
}

function cases(suites: TestSuites): TestCase[] {
  return suites.testsuite!.flatMap((suite) => suite.testcase ?? []);
}

function caseNamed(suites: TestSuites, id: string): TestCase {
  const found = cases(suites).find((testcase) => testcase.name?.startsWith(`${id}: `));
  expect(found, id).toBeDefined();
  return found!;
}

async function validate(xml: string): Promise<{ status: number | null; stderr: string }> {
  const file = join(folder, `report-${Math.random().toString(36).slice(2)}.xml`);
  await writeFile(file, xml);
  const run = spawnSync(XMLLINT, ['--noout', '--schema', SCHEMA, file], { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, stderr: run.stderr };
}

const mixed = reportOf(MIXED);

describe('renderJunit', () => {
  it.skipIf(xmllintMissing)(`is well-formed XML 1.0 and valid against the JUnit schema CI consumers read${xmllintMissing ? ` — skipped: ${xmllintMissing}` : ''}`, async () => {
    expect(await validate(renderJunit(mixed))).toMatchObject({ status: 0 });
    const died = reportOf(MIXED, { death: { after: 'KA-ERROR', detail: 'connection refused' } });
    expect(await validate(renderJunit(died))).toMatchObject({ status: 0 });
  });

  it.skipIf(xmllintMissing)(`the schema check can fail: a report without the required counts is rejected${xmllintMissing ? ` — skipped: ${xmllintMissing}` : ''}`, async () => {
    const broken = renderJunit(mixed).replace(/ tests="\d+"/, '');
    const result = await validate(broken);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/tests/);
  });

  it('gives a consumer one test case per requirement ID, named as in TAP, its class the area', async () => {
    const suites = await consume(renderJunit(mixed));
    expect(cases(suites).map((testcase) => testcase.name)).toEqual(MIXED.map((record) => `${record.id}: ${record.title}`));
    expect(suites.testsuite!.map((suite) => suite.name)).toEqual(['ENV: the environ', 'KA: keep-alive and framing', 'RFC: what RFC 9110/9112 ask of any origin server']);
    expect(cases(suites).map((testcase) => testcase.classname)).toEqual(['h1spec.ENV', 'h1spec.ENV', 'h1spec.KA', 'h1spec.KA', 'h1spec.RFC', 'h1spec.RFC', 'h1spec.RFC']);
    expect(caseNamed(suites, 'ENV-PASS').time).toBe(0.012);
  });

  it('counts as the exit code does: scored fails and unexpected passes fail, scored errors error, the rest is skipped', async () => {
    const suites = await consume(renderJunit(mixed));
    expect(suites).toMatchObject({ tests: 7, failures: 2, errors: 1, time: 1 });
    for (const suite of suites.testsuite as TestSuite[]) {
      const inSuite = suite.testcase ?? [];
      expect(suite.tests).toBe(inSuite.length);
      expect(suite.failures).toBe(inSuite.filter((testcase) => testcase.failure).length);
      expect(suite.errors).toBe(inSuite.filter((testcase) => testcase.error).length);
      expect(suite.skipped).toBe(inSuite.filter((testcase) => testcase.skipped).length);
      expect(suite.timestamp).toBe('2025-01-02T03:04:05');
      expect(suite.hostname).toBe('127.0.0.1:8000');
    }
    expect(caseNamed(suites, 'ENV-PASS')).not.toHaveProperty('failure');
    expect(caseNamed(suites, 'ENV-FAIL').failure?.[0]?.type).toBe('fail');
    expect(caseNamed(suites, 'KA-ERROR').error?.[0]).toMatchObject({ type: 'error', message: 'timed out after 50 ms' });
    expect(caseNamed(suites, 'RFC-XPASS').failure?.[0]).toMatchObject({ type: 'xpass' });
    expect(caseNamed(suites, 'RFC-XPASS').failure?.[0]?.message).toContain('was broken');
    expect(caseNamed(suites, 'KA-SKIP').skipped?.[0]?.message).toBe('needs the probe application');
    expect(caseNamed(suites, 'RFC-XFAIL').skipped?.[0]?.message).toContain('Django closes on a blank line');
    expect(caseNamed(suites, 'RFC-SHOULD').skipped?.[0]?.message).toMatch(/^SHOULD check failed, not scored/);
  });

  it('a failure carries the message and every connection\'s bytes, escaped, and how to rerun it', async () => {
    const suites = await consume(renderJunit(mixed));
    const failure = caseNamed(suites, 'ENV-FAIL').failure![0]!;
    // The NUL and ESC XML cannot hold, and the lone surrogate and U+FFFE, arrive as visible escapes; the markup as text.
    expect(failure.message).toBe('got "\\x00\\x1b" <b>&</b> \\ud800 \\ufffe end');
    const details = parseYaml(failure.inner!) as { evidence: Array<{ label: string; received: string }>; rerun: string; expected: string };
    expect(details.evidence.map((evidence) => evidence.label)).toEqual(['hostile', 'second']);
    expect(details.evidence[0]!.received).toBe(escapeBytes(HOSTILE_BYTES));
    expect(details.rerun).toBe('npx h1spec run --only ENV-FAIL --target 127.0.0.1:8000');
    expect(details.expected).toBe('a 400 response, or a close');
    // Evidence of results that do not fail the run stays available beside them.
    expect(caseNamed(suites, 'RFC-XFAIL')['system-out']?.[0]).toContain('blank line');
  });

  it('never writes a character XML 1.0 forbids, even from hostile text and bytes', () => {
    const xml = renderJunit(mixed);
    expect(xml).not.toMatch(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u);
  });

  it('a target that died during the run is an error test case of its own, so the consumer agrees with exit 1', async () => {
    const passed = reportOf([MIXED[0]!], { death: { after: 'ENV-PASS', detail: 'the process ended (exited with code 1)' } });
    const suites = await consume(renderJunit(passed));
    expect(suites).toMatchObject({ tests: 2, errors: 1 });
    expect(caseNamed(suites, 'RUN-TARGET-ALIVE').error?.[0]?.message).toBe('the target died after ENV-PASS: the process ended (exited with code 1)');
  });
});

describe('h1spec run --junit --html', () => {
  it('writes both reports of a real run: the JUnit one a consumer reads back, the HTML page with every check', async () => {
    const junitFile = join(folder, 'run.xml');
    const htmlFile = join(folder, 'run.html');
    const outcome = await new Promise<{ code: number | null; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        ['bin/h1spec.mjs', 'run', '--only', 'ENV-SERVER-PORT,KA-CONNECTION-CLOSE', '--junit', junitFile, '--html', htmlFile],
        { cwd: ROOT, timeout: 60_000 },
        (error, stdout) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout }),
      ),
    );
    // Files asked for, so no TAP on stdout.
    expect(outcome).toEqual({ code: 0, stdout: '' });
    const suites = await consume(await readFile(junitFile, 'utf8'));
    expect(cases(suites).map((testcase) => testcase.name?.split(':')[0])).toEqual(['ENV-SERVER-PORT', 'KA-CONNECTION-CLOSE']);
    expect(suites).toMatchObject({ tests: 2, failures: 0, errors: 0 });
    const html = await readFile(htmlFile, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<td class="id">ENV-SERVER-PORT</td>');
    expect(html).toContain('<td class="id">KA-CONNECTION-CLOSE</td>');
  });
});

describe('the CI gate examples', () => {
  /** Every shell command a CI file runs, joined, as the runner would see them. */
  function commands(file: string): Promise<string> {
    return readFile(join(ROOT, 'examples', file), 'utf8').then((text) => {
      const document = parseDocument(text);
      expect(document.errors).toEqual([]);
      const found: string[] = [];
      const visit = (node: unknown): void => {
        if (typeof node === 'string') found.push(node);
        else if (Array.isArray(node)) node.forEach(visit);
        else if (node && typeof node === 'object') Object.values(node).forEach(visit);
      };
      visit(document.toJS());
      return found.join('\n');
    });
  }

  it.each(['ci-github-actions.yml', 'ci-gitlab.yml'])('%s gates on h1spec\'s exit code with a manifest and publishes the JUnit report', async (file) => {
    const text = await commands(file);
    const run = /npx h1spec run [^\n]*/.exec(text)?.[0] ?? '';
    expect(run).toMatch(/--spawn '[^']*\{port\}[^']*'/);
    expect(run).toMatch(/--expect \S+\.yaml/);
    expect(run).toMatch(/--junit reports\/h1spec\.xml/);
    expect(run).toMatch(/--html reports\/h1spec\.html/);
    // Nothing may swallow the exit code: no `|| true`, no pipe into another command.
    expect(run).not.toMatch(/\|\||\|/);
    expect(text).toContain('reports/h1spec.xml');
  });
});
