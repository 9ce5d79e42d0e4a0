/**
 * The probe contract (SPEC "The probe contract"): what a probe application answers, shared by the TypeScript
 * probe (probe.ts), the Python probe (wsgi_probe.py) and the checks that read its reports.
 * Bump PROBE_CONTRACT whenever the report's shape or an action's meaning changes, in both probes at once.
 */
export const PROBE_CONTRACT = 'h1spec-probe/1';

/** The request header that selects what the probe does; its value is one action or several, comma-separated. */
export const PROBE_ACTION_HEADER = 'X-Probe-Action';

export type EnvironValue = string | number | boolean | EnvironValue[];

export interface ProbeReport {
  contract: string;
  /** Every environ key whose value is a string, number, boolean or tuple (as a list). */
  environ: Record<string, EnvironValue>;
  /** The other environ keys, each with the name of its value's type. */
  objects: Record<string, string>;
  /** The request body as the application read it. */
  body: { length: number; base64: string };
}

export type ProbeAction =
  | { kind: 'no-length' }
  | { kind: 'read'; bytes: number }
  | { kind: 'status'; code: number }
  | { kind: 'raise' }
  | { kind: 'raise-after-headers' };

/** Parses an X-Probe-Action value; unknown words are ignored so an old probe still answers a newer harness. */
export function parseProbeActions(value: string | undefined): ProbeAction[] {
  if (!value) return [];
  const actions: ProbeAction[] = [];
  for (const word of value.split(',').map((w) => w.trim())) {
    if (word === 'no-length' || word === 'raise' || word === 'raise-after-headers') actions.push({ kind: word });
    else if (/^read:\d+$/.test(word)) actions.push({ kind: 'read', bytes: Number(word.slice(5)) });
    else if (/^status:\d{3}$/.test(word)) actions.push({ kind: 'status', code: Number(word.slice(7)) });
  }
  return actions;
}

/** Reads a probe report from a response body; null when the body is not one (the target serves something else). */
export function parseProbeReport(body: Buffer): ProbeReport | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('latin1'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const report = parsed as Partial<ProbeReport>;
  if (report.contract !== PROBE_CONTRACT || typeof report.environ !== 'object' || typeof report.body !== 'object') return null;
  return report as ProbeReport;
}

/**
 * Serialises a report exactly as Python's `json.dumps(report, sort_keys=True, separators=(',', ':'))` does
 * (printable ASCII only; DEL and everything above it as lower-case \\u escapes), so both probes send byte-identical bodies.
 */
export function serialiseProbeReport(report: ProbeReport): Buffer {
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort(comparePythonStrings)
          .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  const json = JSON.stringify(sortKeys(report)).replace(
    /[\u007f-\uffff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
  return Buffer.from(json, 'latin1');
}

/** Python sorts str by code point; JS's default sort compares UTF-16 units, which differs only above U+FFFF. */
function comparePythonStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
