import { stringify } from 'yaml';
import type { CheckRecord, RunReport } from '../runner.ts';
import { escapeBytes } from '../wire/escape.ts';
import { rerunCommand } from './rerun.ts';

/** Enough wire bytes to see what went wrong; the JSON report keeps them all. */
const TAP_EVIDENCE_MAX_BYTES = 2048;

/**
 * TAP version 14, one test point per check in catalogue order. Points that do not gate the run are marked so TAP
 * consumers agree with the exit code: an expected failure and a fail that is not scored carry `# TODO`, a skip
 * `# SKIP`. Every `not ok` point carries a YAML diagnostic with the check's bytes and how to rerun it alone.
 */
export function renderTap(report: RunReport): string {
  const lines = ['TAP version 14', `1..${report.results.length}`];
  lines.push(`# ${report.tool.name} ${report.tool.version} against ${oneLine(report.target)}`);
  lines.push(`# profiles: ${report.profiles.join(', ')}; mode: ${report.mode}; strict: ${report.strict}`);
  if (report.death) lines.push(`# target died after ${report.death.after}: ${oneLine(report.death.detail)}`);
  report.results.forEach((record, index) => {
    const ok = record.verdict === 'pass' || record.verdict === 'skip';
    const directive = directiveFor(record);
    lines.push(`${ok ? 'ok' : 'not ok'} ${index + 1} - ${escapeDescription(`${record.id}: ${record.title}`)}${directive}`);
    if (!ok) lines.push(...diagnostic(report, record));
  });
  return lines.join('\n') + '\n';
}

function directiveFor(record: CheckRecord): string {
  switch (record.verdict) {
    case 'skip':
      return ` # SKIP ${oneLine(record.reason ?? '')}`;
    case 'xfail':
      return ` # TODO expected ${record.expectation?.verdict ?? 'failure'}: ${oneLine(record.expectation?.reason ?? '')}`;
    case 'fail':
    case 'error':
      return record.scored ? '' : ` # TODO not scored: ${record.level} (--strict makes it count)`;
    default:
      return '';
  }
}

function diagnostic(report: RunReport, record: CheckRecord): string[] {
  const block = {
    verdict: record.verdict,
    scored: record.scored,
    level: record.level,
    profiles: record.profiles,
    source: record.source,
    ...(record.reason !== undefined && { reason: record.reason }),
    ...(record.expectation && { manifest: record.expectation }),
    expected: record.expected,
    actual: record.actual,
    evidence: record.evidence.map((e) => ({
      label: e.label,
      sent: escapeBytes(e.sent, TAP_EVIDENCE_MAX_BYTES),
      received: escapeBytes(e.received, TAP_EVIDENCE_MAX_BYTES),
      close: e.close,
    })),
    durationMs: record.durationMs,
    rerun: rerunCommand(report, record.id),
  };
  // lineWidth 0: never fold, so an escaped byte string stays on one line exactly as escaped.
  const yaml = stringify(block, { lineWidth: 0, minContentWidth: 0 });
  return ['  ---', ...yaml.trimEnd().split('\n').map((line) => `  ${line}`), '  ...'];
}

/** TAP 14 reads `#` as the start of a directive and `\` as an escape, and a description ends at the line's end. */
function escapeDescription(text: string): string {
  return oneLine(text).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
