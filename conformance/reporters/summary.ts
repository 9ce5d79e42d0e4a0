import { exitCodeFor, failingResults, VERDICTS, type CheckRecord, type RunReport } from '../runner.ts';

/**
 * The end-of-run lines for a person at a terminal (stderr): counts per verdict, what failed the run, what failed
 * without counting, the target's death, wall time, and why the exit code is what it is.
 */
export function renderSummary(report: RunReport): string {
  const counts = VERDICTS.filter((v) => report.counts[v] > 0).map((v) => `${report.counts[v]} ${v}`);
  const seconds = (report.wallMs / 1000).toFixed(1);
  const lines = [
    `h1spec: ${report.results.length} checks against ${report.target} in ${seconds} s: ${counts.join(', ') || 'nothing run'}`,
  ];
  const failing = failingResults(report);
  const unscored = report.results.filter((r) => !r.scored && (r.verdict === 'fail' || r.verdict === 'error'));
  if (unscored.length > 0) lines.push(`not scored (SHOULD/MAY; --strict makes them count): ${idList(unscored)}`);
  const expected = report.results.filter((r) => r.verdict === 'xfail');
  if (expected.length > 0) lines.push(`expected by ${report.manifest}: ${expected.map((r) => r.id).join(', ')}`);
  if (failing.length > 0) lines.push(`failing: ${idList(failing)}`);
  if (report.death) lines.push(`the target died after ${report.death.after}: ${report.death.detail}`);
  lines.push(exitCodeFor(report) === 0 ? 'exit 0: every scored check passed or went as expected' : `exit 1: ${exitReason(failing.length)}`);
  return lines.join('\n') + '\n';
}

function idList(records: CheckRecord[]): string {
  return records.map((r) => `${r.id} (${r.verdict})`).join(', ');
}

function exitReason(failingCount: number): string {
  if (failingCount === 0) return 'the target did not survive the run';
  return `${failingCount} scored result${failingCount === 1 ? '' : 's'} failed the run`;
}
