/**
 * Differential fuzzing: the same generated cases go to two targets, and every observable difference (status or bare
 * body, interim responses, the environ the probe reports, the close) is a finding, shrunk like any other. The cases
 * are those of the fuzz properties (the profile's flavour); the judge is the other target instead of SPEC.
 */
import { drive, type Lane } from './drive.ts';
import { firstDifference, observables, observePlan } from './judges.ts';
import { PROPERTIES, type CaseOutcome, type FuzzProperty } from './properties.ts';

export interface DiffSide {
  name: string;
  lane: Lane;
}

/** A fuzz property's cases, judged by comparing two targets; its findings are named `DIFF:<what differs>`. */
function differential(source: FuzzProperty, other: DiffSide, firstName: string): FuzzProperty {
  return {
    ...source,
    title: `${source.title} — compared between two targets`,
    probeFor: [],
    reusesConnections: false,
    check: async (wireCase, ctx): Promise<CaseOutcome> => {
      // One write: a second write meeting a server that has already closed can destroy its answer in flight.
      const whole = { ...wireCase, splits: [] };
      const [first, second] = await Promise.all([
        drive(ctx.lane, observePlan(whole), { reuse: false, timeoutMs: ctx.timeoutMs, label: firstName }),
        drive(other.lane, observePlan(whole), { reuse: false, timeoutMs: ctx.timeoutMs, label: other.name }),
      ]);
      const evidence = [first.evidence, second.evidence];
      const exchanges = first.exchanges + second.exchanges;
      for (const side of [first, second]) {
        if (side.verdict.kind === 'error') return { verdict: side.verdict, exchanges, evidence };
      }
      const difference = firstDifference('DIFF', observables(first.responses, first.close), observables(second.responses, second.close), [firstName, other.name]);
      return { verdict: difference ? { kind: 'fail', mismatch: difference } : { kind: 'pass' }, exchanges, evidence };
    },
  };
}

/** Comparing splits is split-invariance's own business, judged on one target. */
const COMPARED_SOURCES = PROPERTIES.filter((p) => p.name !== 'split-invariance');

/** The differential properties for a profile: every fuzz property of it (split-invariance aside), compared. */
export function differentialProperties(profile: FuzzProperty['profiles'][number], names: readonly string[], first: string, other: DiffSide): FuzzProperty[] {
  return COMPARED_SOURCES.filter((p) => p.profiles.includes(profile) && (names.length === 0 || names.includes(p.name))).map((p) => differential(p, other, first));
}
