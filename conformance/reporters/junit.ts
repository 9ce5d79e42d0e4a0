import { stringify } from 'yaml';
import { exitCodeFor, type RunReport } from '../runner.ts';
import { formatEndpoint } from '../wire/client.ts';
import { areaLabel, areaOf, groupByArea } from './areas.ts';
import { toJsonReport, type JsonResult } from './json.ts';
import { markupText } from './markup.ts';

/**
 * JUnit XML, in the shape CI systems read (Jenkins, GitLab, GitHub test-report actions, Surefire's): one <testsuite>
 * per area, one <testcase> per requirement ID named like its TAP point (`ID: title`, class name `h1spec.AREA`).
 * The verdicts map so a JUnit consumer agrees with the exit code: a scored fail or an unexpected pass is a <failure>,
 * a scored error an <error>; skips, expected failures (xfail) and unscored SHOULD/MAY failures are <skipped>, the
 * latter two with their evidence kept in <system-out>. Every failure carries the check's expected/actual text, the
 * escaped wire bytes of each connection and the command that reruns it alone.
 */
export function renderJunit(report: RunReport): string {
  const json = toJsonReport(report);
  const timestamp = junitTimestamp(report.started);
  const hostname = formatEndpoint(report.endpoint);
  const suites = groupByArea(json.results, (result) => result.id).map(({ area, items }) => ({
    area,
    cases: items.map((result) => ({ result, outcome: outcomeOf(result) })),
  }));
  if (report.death) suites.push({ area: areaOf(TARGET_ALIVE), cases: [deathCase(report.death)] });

  const totals = tally(suites.flatMap((suite) => suite.cases));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attributes({ name: `${report.tool.name} against ${report.target}`, ...totals, time: seconds(report.wallMs), timestamp })}>`,
  ];
  for (const [index, suite] of suites.entries()) {
    const counts = tally(suite.cases);
    const suiteTime = suite.cases.reduce((sum, { result }) => sum + result.durationMs, 0);
    lines.push(
      `  <testsuite ${attributes({ name: areaLabel(suite.area), ...counts, time: seconds(suiteTime), timestamp, hostname, id: index, package: report.tool.name })}>`,
    );
    lines.push('    <properties>');
    for (const [name, value] of runProperties(report)) lines.push(`      <property ${attributes({ name, value })}/>`);
    lines.push('    </properties>');
    for (const { result, outcome } of suite.cases) lines.push(...testcase(result, outcome, report.tool.name));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}

type Outcome =
  | { kind: 'passed' }
  | { kind: 'failure' | 'error'; type: string; message: string }
  | { kind: 'skipped'; type: string; message: string; keepEvidence: boolean };

function outcomeOf(result: JsonResult): Outcome {
  switch (result.verdict) {
    case 'pass':
      return { kind: 'passed' };
    case 'skip':
      return { kind: 'skipped', type: 'skip', message: result.reason ?? 'not applicable', keepEvidence: false };
    case 'xfail':
      return {
        kind: 'skipped',
        type: 'xfail',
        message: `expected ${result.expectation?.verdict ?? 'failure'} (manifest): ${result.expectation?.reason ?? ''}; seen: ${seenText(result)}`,
        keepEvidence: true,
      };
    case 'xpass':
      return {
        kind: 'failure',
        type: 'xpass',
        message: `unexpected pass: the manifest expects ${result.expectation?.verdict ?? 'a failure'} (${result.expectation?.reason ?? ''}); update the manifest`,
      };
    case 'fail':
    case 'error':
      if (!result.scored) {
        return {
          kind: 'skipped',
          type: `unscored-${result.verdict}`,
          message: `${result.level} check ${result.verdict === 'fail' ? 'failed' : 'errored'}, not scored (--strict makes it count): ${seenText(result)}`,
          keepEvidence: true,
        };
      }
      return { kind: result.verdict === 'fail' ? 'failure' : 'error', type: result.verdict, message: seenText(result) };
  }
}

function seenText(result: JsonResult): string {
  return result.actual || result.reason || '(nothing recorded)';
}

/** Not a requirement: the test case that shows a run whose target died, in a suite of its own. */
const TARGET_ALIVE = 'RUN-TARGET-ALIVE';

/** A run whose target died fails (exit 1) even if every check that ran passed: a consumer must see that too. */
function deathCase(death: NonNullable<RunReport['death']>): { result: JsonResult; outcome: Outcome } {
  const result: JsonResult = {
    id: TARGET_ALIVE,
    title: 'the target survived the run',
    level: 'MUST',
    profiles: [],
    source: 'h1spec',
    verdict: 'error',
    scored: true,
    expected: 'the target still serves after every check',
    actual: `the target died after ${death.after}: ${death.detail}`,
    evidence: [],
    durationMs: 0,
    rerun: '',
  };
  return { result, outcome: { kind: 'error', type: 'target-died', message: result.actual } };
}

function tally(cases: ReadonlyArray<{ outcome: Outcome }>): { tests: number; failures: number; errors: number; skipped: number } {
  const count = (kind: Outcome['kind']): number => cases.filter(({ outcome }) => outcome.kind === kind).length;
  return { tests: cases.length, failures: count('failure'), errors: count('error'), skipped: count('skipped') };
}

function runProperties(report: RunReport): Array<[string, string]> {
  return [
    ['tool', `${report.tool.name} ${report.tool.version}`],
    ['target', report.target],
    ['profiles', report.profiles.join(',')],
    ['mode', report.mode],
    ['strict', String(report.strict)],
    ['manifest', report.manifest ?? ''],
    ['exitCode', String(exitCodeFor(report))],
  ];
}

function testcase(result: JsonResult, outcome: Outcome, tool: string): string[] {
  const open = `    <testcase ${attributes({ name: `${result.id}: ${result.title}`, classname: `${tool}.${areaOf(result.id)}`, time: seconds(result.durationMs) })}`;
  if (outcome.kind === 'passed') return [`${open}/>`];
  const lines = [`${open}>`];
  const tag = outcome.kind;
  if (tag === 'skipped') {
    lines.push(`      <skipped ${attributes({ type: outcome.type, message: outcome.message })}/>`);
    if (outcome.keepEvidence) lines.push(`      <system-out>${markupText(details(result))}</system-out>`);
  } else {
    lines.push(`      <${tag} ${attributes({ type: outcome.type, message: outcome.message })}>${markupText(details(result))}</${tag}>`);
  }
  lines.push('    </testcase>');
  return lines;
}

/** The text of a failure: the check's words, the manifest entry, every connection's bytes (escaped), the rerun command. */
function details(result: JsonResult): string {
  const block = {
    verdict: result.verdict,
    level: result.level,
    source: result.source,
    ...(result.reason !== undefined && { reason: result.reason }),
    ...(result.expectation && { manifest: result.expectation }),
    expected: result.expected,
    actual: result.actual,
    evidence: result.evidence.map(({ label, sent, received, close }) => ({ label, sent, received, close })),
    ...(result.rerun && { rerun: result.rerun }),
  };
  return stringify(block, { lineWidth: 0, minContentWidth: 0 });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** Jenkins' JUnit schema types `timestamp` as a date-time without zone or fraction: the run's UTC start. */
function junitTimestamp(iso: string): string {
  return iso.slice(0, 19);
}

/** Attribute values keep their line breaks and tabs as character references; a parser would otherwise turn them into spaces. */
function xmlAttribute(text: string): string {
  return markupText(text).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function attributes(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}="${xmlAttribute(String(value))}"`)
    .join(' ');
}
