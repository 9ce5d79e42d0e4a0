/**
 * A finding as a file: the shrunk case as data (replayed byte for byte, whatever the arbitraries become), its bytes
 * escaped for people and in base64 for tools, what was expected and seen, the seed and path fast-check can
 * regenerate it from, and the commands that replay it. Files in conformance/corpus/ (or a --corpus folder) become
 * catalogue entries that `h1spec run` re-checks (conformance/catalogue/corpus.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../reporters/files.ts';
import { shellWord } from '../reporters/rerun.ts';
import { escapeBytes } from '../wire/escape.ts';
import { caseBytes, type Part, type WireCase } from './cases.ts';
import type { Finding } from './engine.ts';
import { propertyNamed } from './properties.ts';

export const FIXTURE_FORMAT = 'h1spec-fuzz-finding/1';
/** Enough evidence to see what went wrong in a file a person opens; the case itself is always whole. */
const EVIDENCE_MAX_BYTES = 4096;

/** A finding as saved: its fields, with the evidence escaped for a person reading the file. */
export interface Fixture extends Omit<Finding, 'evidence'> {
  format: typeof FIXTURE_FORMAT;
  /** `diff`: a difference between two targets found by `h1spec diff`; `fuzz`: a failure of one target. */
  command: 'fuzz' | 'diff';
  request: { bytes: number; escaped: string; base64: string };
  evidence: Array<{ label: string; sent: string; received: string; close: string }>;
  foundAgainst: string;
  /** The command-line flags that reached that target. */
  targetFlags: string[];
  /** Replays exactly these bytes against the same target. */
  replay: string;
  /** Regenerates the case from its seed and fast-check path (the same bytes while the arbitraries are unchanged). */
  regenerate: string;
}

export class FixtureError extends Error {
  override name = 'FixtureError';
}

export function fixtureFileName(key: string): string {
  return `${key}.json`;
}

const command = (words: string[]): string => words.map(shellWord).join(' ');

export function replayCommand(fixture: Pick<Fixture, 'command' | 'targetFlags'>, file: string): string {
  return command(['npx', 'h1spec', fixture.command, '--replay', file, ...fixture.targetFlags]);
}

/** The fixture of a finding; its replay command names `file`, where writeFixture puts it. */
export function toFixture(finding: Finding, where: { command: Fixture['command']; target: string; targetFlags: readonly string[]; file: string }): Fixture {
  const bytes = caseBytes(finding.case);
  return {
    format: FIXTURE_FORMAT,
    command: where.command,
    key: finding.key,
    property: finding.property,
    profile: finding.profile,
    id: finding.id,
    expected: finding.expected,
    seen: finding.seen,
    index: finding.index,
    seed: finding.seed,
    path: finding.path,
    shrinks: finding.shrinks,
    case: finding.case,
    request: { bytes: bytes.length, escaped: escapeBytes(bytes, Number.MAX_SAFE_INTEGER), base64: bytes.toString('base64') },
    evidence: finding.evidence.map((e) => ({ label: e.label, sent: escapeBytes(e.sent, EVIDENCE_MAX_BYTES), received: escapeBytes(e.received, EVIDENCE_MAX_BYTES), close: e.close })),
    foundAgainst: where.target,
    targetFlags: [...where.targetFlags],
    replay: replayCommand({ command: where.command, targetFlags: [...where.targetFlags] }, where.file),
    regenerate: command(['npx', 'h1spec', where.command, '--property', finding.property, '--profile', finding.profile, '--seed', String(finding.seed), '--path', finding.path, ...where.targetFlags]),
  };
}

/** Writes a fixture into `folder` as `<key>.json`, its replay command naming that file; returns the file's path. */
export async function writeFixture(folder: string, fixture: Fixture): Promise<string> {
  const file = join(folder, fixtureFileName(fixture.key));
  await writeFileAtomic(file, JSON.stringify({ ...fixture, replay: replayCommand(fixture, file) }, null, 2) + '\n');
  return file;
}

function isPart(value: unknown): value is Part {
  const part = value as Record<string, unknown>;
  if (typeof part !== 'object' || part === null) return false;
  if ('raw' in part) return typeof part.raw === 'string';
  const spec = part.request as Record<string, unknown> | undefined;
  return (
    typeof spec === 'object' &&
    spec !== null &&
    ['method', 'target', 'version', 'body'].every((k) => typeof spec[k] === 'string') &&
    Array.isArray(spec.headers) &&
    spec.headers.every((h: unknown) => Array.isArray(h) && h.length === 2 && h.every((x) => typeof x === 'string'))
  );
}

/** Reads a fixture, checking what a replay relies on: its format, a known property and profile, a well-formed case. */
export function parseFixture(text: string, source: string): Fixture {
  let data: Fixture;
  try {
    data = JSON.parse(text) as Fixture;
  } catch (err) {
    throw new FixtureError(`${source}: not JSON (${(err as Error).message})`);
  }
  if (data?.format !== FIXTURE_FORMAT) throw new FixtureError(`${source}: not a fuzz finding (format should be ${FIXTURE_FORMAT})`);
  if (data.command !== 'fuzz' && data.command !== 'diff') throw new FixtureError(`${source}: command should be fuzz or diff`);
  const property = propertyNamed(data.property);
  if (!property) throw new FixtureError(`${source}: unknown property "${data.property}"`);
  if (!property.profiles.includes(data.profile)) throw new FixtureError(`${source}: property ${data.property} has no profile "${data.profile}"`);
  const wireCase = data.case as Partial<WireCase> | undefined;
  if (!wireCase || !Array.isArray(wireCase.parts) || !wireCase.parts.every(isPart) || !Array.isArray(wireCase.splits) || !wireCase.splits.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    throw new FixtureError(`${source}: the case is not well formed`);
  }
  return data;
}

export async function loadFixture(file: string): Promise<Fixture> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FixtureError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseFixture(text, file);
}
