import type { Evidence } from '../catalogue/types.ts';
import { exitCodeFor, failingResults, type CheckRecord, type RunReport } from '../runner.ts';
import { escapeBytes } from '../wire/escape.ts';
import { rerunCommand } from './rerun.ts';

export interface JsonEvidence {
  label: string;
  /** Escaped for reading (see escapeBytes); the base64 twin is byte-exact. */
  sent: string;
  sentBase64: string;
  received: string;
  receivedBase64: string;
  close: string;
}

export interface JsonResult extends Omit<CheckRecord, 'evidence'> {
  evidence: JsonEvidence[];
  rerun: string;
}

export interface JsonReport {
  tool: RunReport['tool'];
  target: string;
  endpoint: RunReport['endpoint'];
  profiles: RunReport['profiles'];
  strict: boolean;
  mode: RunReport['mode'];
  probe: boolean;
  log: boolean;
  manifest: string | null;
  started: string;
  finished: string;
  wallMs: number;
  death: RunReport['death'];
  summary: RunReport['counts'] & { total: number; exitCode: 0 | 1; failing: string[] };
  results: JsonResult[];
}

/** Escaped text for people, capped high enough for a 64 KiB header line; the base64 fields are never cut. */
const JSON_EVIDENCE_MAX_BYTES = 256 * 1024;

export function toJsonReport(report: RunReport): JsonReport {
  return {
    tool: report.tool,
    target: report.target,
    endpoint: report.endpoint,
    profiles: report.profiles,
    strict: report.strict,
    mode: report.mode,
    probe: report.probe,
    log: report.log,
    manifest: report.manifest,
    started: report.started,
    finished: report.finished,
    wallMs: report.wallMs,
    death: report.death,
    summary: { ...report.counts, total: report.results.length, exitCode: exitCodeFor(report), failing: failingResults(report).map((r) => r.id) },
    results: report.results.map((record) => ({
      ...record,
      evidence: record.evidence.map(jsonEvidence),
      rerun: rerunCommand(report, record.id),
    })),
  };
}

export function renderJson(report: RunReport): string {
  return JSON.stringify(toJsonReport(report), null, 2) + '\n';
}

function jsonEvidence(evidence: Evidence): JsonEvidence {
  return {
    label: evidence.label,
    sent: escapeBytes(evidence.sent, JSON_EVIDENCE_MAX_BYTES),
    sentBase64: evidence.sent.toString('base64'),
    received: escapeBytes(evidence.received, JSON_EVIDENCE_MAX_BYTES),
    receivedBase64: evidence.received.toString('base64'),
    close: evidence.close,
  };
}
