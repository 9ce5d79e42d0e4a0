/**
 * One fuzz case through fast-check: generate it from its own seed, check it, and when it fails, shrink it to the
 * smallest case that still fails the same way (same requirement ID). Every case has its own seed, derived from the
 * campaign's seed and the case's index, so any case (and so any shard) is reproduced alone, and a finding is
 * replayed from its seed and fast-check path.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Evidence, Profile } from '../catalogue/types.ts';
import { caseBytes, type WireCase } from './cases.ts';
import type { Lane, Mismatch } from './drive.ts';
import { minimize } from './minimize.ts';
import type { TargetFacts } from './judges.ts';
import type { CaseOutcome, FuzzProperty, Setup } from './properties.ts';

/** Checks a case may cost in all, shrinking included: each is at most a few exchanges, so a finding costs bounded time. */
export const MAX_CHECKS_PER_CASE = 600;
/** Of those, the most the structural pass after fast-check's shrinking may use (minimize.ts). */
const MINIMIZE_BUDGET = 200;

export interface Finding {
  /** The property, the requirement ID and a digest of the shrunk bytes: two findings with the same key are the same. */
  key: string;
  property: string;
  profile: Profile;
  id: string;
  expected: string;
  seen: string;
  /** The campaign's index of the case that first failed, and that case's fast-check seed and shrink path. */
  index: number;
  seed: number;
  path: string;
  shrinks: number;
  case: WireCase;
  evidence: Evidence[];
}

export type CaseResult =
  | { outcome: 'pass'; exchanges: number }
  | { outcome: 'error'; exchanges: number; reason: string }
  | { outcome: 'fail'; exchanges: number; finding: Finding };

export interface CaseEnvironment {
  facts: TargetFacts;
  profile: Profile;
  setup: Setup;
  lane: Lane;
  timeoutMs: number;
  /** True once the campaign is stopping: checks then pass at once, so a shrink in progress ends quickly. */
  stopping?: () => boolean;
}

/** The seed of case `index` of a campaign: a 32-bit mix of both (the murmur3 finaliser), the same on every machine and shard. */
export function caseSeed(campaignSeed: number, index: number): number {
  let h = (campaignSeed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}

export function findingKey(property: string, id: string, wireCase: WireCase): string {
  const digest = createHash('sha256').update(caseBytes(wireCase)).update(JSON.stringify(wireCase.splits)).digest('hex').slice(0, 12);
  return `${property}.${id}.${digest}`;
}

/** Arbitraries are built once per property, profile and setup: building the tree costs more than drawing a case from it. */
const arbitraries = new WeakMap<FuzzProperty, Map<string, { setup: Setup; arbitrary: fc.Arbitrary<WireCase> }>>();

function arbitraryOf(property: FuzzProperty, env: CaseEnvironment): fc.Arbitrary<WireCase> {
  let byProfile = arbitraries.get(property);
  if (!byProfile) arbitraries.set(property, (byProfile = new Map()));
  const known = byProfile.get(env.profile);
  if (known && known.setup === env.setup) return known.arbitrary;
  const arbitrary = property.arbitrary(env.profile, env.setup);
  byProfile.set(env.profile, { setup: env.setup, arbitrary });
  return arbitrary;
}

/**
 * Runs case `index` (seed `seed`), or replays the case at `path` when given. A check that errs (a timeout, a refused
 * connection) counts as passing for fast-check, so shrinking keeps to failures of the first failure's ID alone.
 */
export async function runCase(property: FuzzProperty, index: number, seed: number, env: CaseEnvironment, path?: string): Promise<CaseResult> {
  let checks = 0;
  let exchanges = 0;
  let focus: string | null = null;
  let firstError: string | null = null;
  let smallest: { wireCase: WireCase; outcome: CaseOutcome; mismatch: Mismatch; check: number } | null = null;

  const check = async (wireCase: WireCase): Promise<boolean> => {
    checks++;
    if (checks > MAX_CHECKS_PER_CASE || env.stopping?.()) return true;
    // The first check of a generated case may reuse a connection; shrinking and replay start afresh.
    const reuse = checks === 1 && path === undefined && property.reusesConnections;
    let outcome: CaseOutcome;
    try {
      outcome = await property.check(wireCase, { facts: env.facts, profile: env.profile, lane: env.lane, reuse, timeoutMs: env.timeoutMs });
    } catch (err) {
      if (checks === 1) firstError = `cannot reach the target: ${(err as Error).message}`;
      return true;
    }
    exchanges += outcome.exchanges;
    if (outcome.verdict.kind === 'error') {
      if (checks === 1) firstError = outcome.verdict.reason;
      return true;
    }
    if (outcome.verdict.kind === 'pass') return true;
    const { mismatch } = outcome.verdict;
    focus ??= mismatch.id;
    if (mismatch.id !== focus) return true;
    smallest = { wireCase, outcome, mismatch, check: checks };
    return false;
  };

  const details = await fc.check(
    fc.asyncProperty(arbitraryOf(property, env), check),
    path === undefined ? { seed, numRuns: 1 } : { seed, numRuns: 1, path, endOnFailure: true },
  );
  if (!details.failed || !smallest) {
    return firstError !== null ? { outcome: 'error', exchanges, reason: firstError } : { outcome: 'pass', exchanges };
  }
  const minimized = await minimize((smallest as { wireCase: WireCase }).wireCase, async (candidate) => !(await check(candidate)), MINIMIZE_BUDGET);
  const found = smallest as { wireCase: WireCase; outcome: CaseOutcome; mismatch: Mismatch; check: number };
  if (found.check === 1 && property.reusesConnections && path === undefined) {
    // Nothing smaller failed, so the failure was only ever seen on a reused connection: it must also fail on a fresh one.
    const again = await property.check(found.wireCase, { facts: env.facts, profile: env.profile, lane: env.lane, reuse: false, timeoutMs: env.timeoutMs }).catch(() => null);
    exchanges += again?.exchanges ?? 0;
    if (!again || again.verdict.kind !== 'fail' || again.verdict.mismatch.id !== found.mismatch.id) {
      return { outcome: 'error', exchanges, reason: `failed (${found.mismatch.id}) on a connection reused from earlier cases, but not on a fresh one` };
    }
  }
  return {
    outcome: 'fail',
    exchanges,
    finding: {
      key: findingKey(property.name, found.mismatch.id, found.wireCase),
      property: property.name,
      profile: env.profile,
      id: found.mismatch.id,
      expected: found.mismatch.expected,
      seen: found.mismatch.seen,
      index,
      seed,
      path: details.counterexamplePath ?? path ?? '0',
      shrinks: details.numShrinks + minimized.steps,
      case: found.wireCase,
      evidence: found.outcome.evidence,
    },
  };
}

/** Checks a stored case once on a fresh connection, as a regression fixture is re-checked. */
export async function recheck(property: FuzzProperty, wireCase: WireCase, env: Omit<CaseEnvironment, 'setup'>): Promise<CaseOutcome> {
  return property.check(wireCase, { facts: env.facts, profile: env.profile, lane: env.lane, reuse: false, timeoutMs: env.timeoutMs });
}

