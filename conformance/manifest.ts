import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { CheckVerdict, Verdict } from './catalogue/types.ts';

/**
 * An expectation manifest (`--expect FILE`): known deviations of a target, each with its reason, so a run can gate
 * on them without hiding them — a deviation that goes away shows up as `xpass` and fails the run.
 *
 *   expectations:
 *     RFC-EMPTY-LINE: { verdict: fail, reason: "Django closes on a blank line" }
 */
export type ExpectedVerdict = 'fail' | 'error' | 'skip';

export interface Expectation {
  verdict: ExpectedVerdict;
  reason: string;
}

export interface Manifest {
  /** Where the manifest came from, for reports. */
  source: string;
  expectations: ReadonlyMap<string, Expectation>;
}

/** A manifest that cannot be used; the message is one line naming the file and the problem. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

const EXPECTED_VERDICTS: readonly ExpectedVerdict[] = ['fail', 'error', 'skip'];
const ENTRY_KEYS = new Set(['verdict', 'reason']);

export async function loadManifest(path: string, knownIds: readonly string[]): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ManifestError(`cannot read manifest ${path}: ${(err as Error).message}`);
  }
  return parseManifest(text, path, knownIds);
}

/** Parses YAML or JSON (JSON is YAML 1.2) and checks every entry against the catalogue's IDs. */
export function parseManifest(text: string, source: string, knownIds: readonly string[]): Manifest {
  const fail = (problem: string): never => {
    throw new ManifestError(`manifest ${source}: ${problem}`);
  };
  let document: unknown;
  try {
    const parsed = parseDocument(text);
    // Warnings (an unknown tag, say) count as errors: a manifest is read strictly or not at all.
    const problem = parsed.errors[0] ?? parsed.warnings[0];
    if (problem) throw problem;
    document = parsed.toJS();
  } catch (err) {
    // The yaml package appends a code frame on further lines; its first line names the problem and position.
    fail(`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isPlainObject(document)) return fail('expected a mapping with an "expectations" key');
  const extraKeys = Object.keys(document).filter((k) => k !== 'expectations');
  if (extraKeys.length > 0) fail(`unknown top-level key "${extraKeys[0]}" (only "expectations" is allowed)`);
  const entries = document.expectations;
  if (!isPlainObject(entries)) return fail('"expectations" must be a mapping from requirement ID to { verdict, reason }');

  const known = new Set(knownIds);
  const expectations = new Map<string, Expectation>();
  for (const [id, entry] of Object.entries(entries)) {
    if (!known.has(id)) fail(unknownIdMessage(id, knownIds));
    if (!isPlainObject(entry)) return fail(`${id}: expected { verdict, reason }`);
    const extra = Object.keys(entry).find((k) => !ENTRY_KEYS.has(k));
    if (extra !== undefined) fail(`${id}: unknown key "${extra}" (allowed: verdict, reason)`);
    const { verdict, reason } = entry;
    if (!EXPECTED_VERDICTS.includes(verdict as ExpectedVerdict)) {
      fail(`${id}: verdict must be one of ${EXPECTED_VERDICTS.join(', ')} (got ${JSON.stringify(verdict) ?? 'nothing'})`);
    }
    if (typeof reason !== 'string' || reason.trim() === '') fail(`${id}: missing reason (every expectation says why)`);
    expectations.set(id, { verdict: verdict as ExpectedVerdict, reason: (reason as string).trim() });
  }
  return { source, expectations };
}

/**
 * Folds a check's own verdict with what the manifest expected: the expected outcome becomes `xfail` (`skip` stays
 * `skip`); a pass where something else was expected is `xpass`; any other mismatch keeps the check's verdict.
 */
export function applyExpectation(actual: CheckVerdict, expectation: Expectation | undefined): Verdict {
  if (!expectation) return actual;
  if (actual === expectation.verdict) return actual === 'skip' ? 'skip' : 'xfail';
  return actual === 'pass' ? 'xpass' : actual;
}

/** "unknown requirement ID ..." with the nearest known ID as a suggestion when one is close enough to be a typo. */
export function unknownIdMessage(id: string, knownIds: readonly string[]): string {
  const nearest = nearestId(id, knownIds);
  return `unknown requirement ID "${id}"` + (nearest ? ` (did you mean ${nearest}?)` : '');
}

function nearestId(id: string, knownIds: readonly string[]): string | undefined {
  const wanted = id.toUpperCase();
  let best: { id: string; distance: number } | undefined;
  for (const candidate of knownIds) {
    const distance = editDistance(wanted, candidate.toUpperCase());
    if (!best || distance < best.distance) best = { id: candidate, distance };
  }
  // Beyond about a third of the ID's length the "suggestion" is just another ID, which misleads more than it helps.
  return best && best.distance <= Math.max(2, Math.floor(wanted.length / 3)) ? best.id : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
