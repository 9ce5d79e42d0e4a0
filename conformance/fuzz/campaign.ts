/**
 * A fuzz campaign: cases run by several workers at once (one for a serial target), each worker reusing its own
 * keep-alive connection where the property allows, until the run count or the time is spent, the campaign is told
 * to stop, or the target dies. Findings are de-duplicated by property, requirement ID and shrunk bytes; of two
 * findings with the same key the one from the lower case index is kept, so the outcome does not depend on which
 * worker got there first, nor on how the cases were spread over shards.
 */
import type { Profile } from '../catalogue/types.ts';
import type { RunningTarget } from '../targets/types.ts';
import { Lane } from './drive.ts';
import { caseSeed, runCase, type Finding } from './engine.ts';
import type { TargetFacts } from './judges.ts';
import { askAlive, prepareSetup, type FuzzProperty } from './properties.ts';
import { pickWeighted, shardIndices, shardSize, type Shard } from './shard.ts';

export interface CampaignConfig {
  target: RunningTarget;
  facts: TargetFacts;
  profile: Profile;
  properties: readonly FuzzProperty[];
  seed: number;
  /** Cases in the whole campaign, over all shards. */
  runs: number;
  timeMs: number;
  shard: Shard;
  concurrency: number;
  timeoutMs: number;
}

export type CampaignStatus = 'finished' | 'time-up' | 'interrupted' | 'target-died';

export interface PropertyTally {
  runs: number;
  failed: number;
  errors: number;
}

export interface CampaignStats {
  runs: number;
  passed: number;
  failed: number;
  errors: number;
  exchanges: number;
  findings: number;
  elapsedMs: number;
  /** Request exchanges per second so far. */
  rate: number;
}

export interface CampaignSummary {
  status: CampaignStatus;
  /** Why the target is taken for dead, when it is. */
  death: string | null;
  stats: CampaignStats;
  /** Per property, in the order of the property table. */
  properties: Array<{ property: FuzzProperty; tally: PropertyTally }>;
  /** Distinct findings, by case index. */
  findings: Finding[];
  /** The cases this shard was to run (fewer ran if the campaign stopped early). */
  planned: number;
}

export type CampaignEvent =
  | { type: 'progress'; stats: CampaignStats }
  | { type: 'failure'; index: number; property: string; key: string; id: string; distinct: boolean }
  | { type: 'error'; index: number; property: string; reason: string }
  | { type: 'finding'; finding: Finding }
  | { type: 'death'; detail: string };

export interface CampaignHooks {
  event?(event: CampaignEvent): void;
  /** When it turns true the campaign starts no new case, and cases being shrunk end their shrinking. */
  stopRequested?(): boolean;
}

const PROGRESS_EVERY_MS = 1000;
/**
 * A liveness GET that only timed out may have met a loaded machine rather than a dead target: the target is taken
 * for dead on a refusal, a reset or an exit, or this many timeouts in a row.
 */
const LIVENESS_ATTEMPTS = 3;

export async function runCampaign(config: CampaignConfig, hooks: CampaignHooks = {}): Promise<CampaignSummary> {
  const setup = await prepareSetup(config.properties);
  const startedAt = performance.now();
  const endsAt = startedAt + config.timeMs;
  const tallies = new Map(config.properties.map((p) => [p.name, { runs: 0, failed: 0, errors: 0 }]));
  const findings = new Map<string, Finding>();
  const stats = { runs: 0, passed: 0, failed: 0, errors: 0, exchanges: 0 };
  // Held in an object: the workers' callbacks set them, which flow analysis of plain variables cannot see.
  const state: { status: CampaignStatus; death: string | null } = { status: 'finished', death: null };
  const interrupted = (): boolean => hooks.stopRequested?.() ?? false;
  // Past the time, cases still being shrunk stop shrinking and keep the smallest failing case found so far.
  const stopping = (): boolean => state.status === 'target-died' || interrupted() || performance.now() >= endsAt;
  let over = false;
  config.target.exited.then((how) => declareDeath(`the target process ended (${how})`)).catch(() => {});

  function declareDeath(detail: string): void {
    // Once the campaign is over the caller stops the target: that exit is no death.
    if (over || state.death !== null) return;
    state.death = detail;
    state.status = 'target-died';
    hooks.event?.({ type: 'death', detail });
  }

  const snapshot = (): CampaignStats => {
    const elapsedMs = performance.now() - startedAt;
    return { ...stats, findings: findings.size, elapsedMs: Math.round(elapsedMs), rate: elapsedMs > 0 ? Math.round((stats.exchanges * 1000) / elapsedMs) : 0 };
  };
  const ticker = setInterval(() => hooks.event?.({ type: 'progress', stats: snapshot() }), PROGRESS_EVERY_MS);

  const indices = shardIndices(config.shard, config.runs);
  const nextIndex = (): number | null => {
    if (state.status === 'target-died' || interrupted()) return null;
    if (performance.now() >= endsAt) {
      state.status = 'time-up';
      return null;
    }
    const next = indices.next();
    return next.done ? null : next.value;
  };

  /** Whether the target still serves a new connection, asked again while the only answer is a timeout. */
  const confirmAlive = async (): Promise<{ alive: boolean; detail: string }> => {
    for (let attempt = 1; ; attempt++) {
      const answer = await askAlive({ facts: config.facts, timeoutMs: config.timeoutMs });
      if (answer.alive || !answer.timedOut || attempt === LIVENESS_ATTEMPTS) {
        return { alive: answer.alive, detail: attempt > 1 ? `${answer.detail}, ${attempt} times in a row` : answer.detail };
      }
    }
  };

  /** Cases started and not yet found to have left the target alive: if it died, one of them did it. */
  const unconfirmed = new Set<number>();
  const othersRunning = (index: number): string => {
    const others = [...unconfirmed].filter((other) => other !== index).sort((a, b) => a - b);
    return others.length === 0 ? '' : `; cases ${others.join(', ')} ran at the same time (--concurrency 1 tells which)`;
  };

  const worker = async (): Promise<void> => {
    const lane = new Lane(config.facts.endpoint, config.timeoutMs);
    try {
      for (let index = nextIndex(); index !== null; index = nextIndex()) {
        const property = pickWeighted(config.properties, config.seed, index);
        const env = { facts: config.facts, profile: config.profile, setup, lane, timeoutMs: config.timeoutMs, stopping };
        unconfirmed.add(index);
        const result = await runCase(property, index, caseSeed(config.seed, index), env);
        const tally = tallies.get(property.name)!;
        stats.exchanges += result.exchanges;
        // A case cut short by Ctrl-C, or run against a target already dead, proves nothing.
        if (result.outcome !== 'pass' && (interrupted() || state.death !== null)) break;
        stats.runs++;
        tally.runs++;
        if (result.outcome === 'pass') {
          unconfirmed.delete(index);
          stats.passed++;
          continue;
        }
        // What a case saw while the target died may be the death itself: no finding is made of it.
        const alive = await confirmAlive();
        if (!alive.alive) {
          declareDeath(`after case ${index} (${property.name}): ${alive.detail}${othersRunning(index)}`);
          stats.errors++;
          tally.errors++;
          hooks.event?.({ type: 'error', index, property: property.name, reason: `the target died during this case (${alive.detail})` });
          break;
        }
        unconfirmed.delete(index);
        if (result.outcome === 'error') {
          stats.errors++;
          tally.errors++;
          hooks.event?.({ type: 'error', index, property: property.name, reason: result.reason });
        } else {
          stats.failed++;
          tally.failed++;
          const known = findings.get(result.finding.key);
          const distinct = !known;
          if (!known || result.finding.index < known.index) findings.set(result.finding.key, result.finding);
          hooks.event?.({ type: 'failure', index, property: property.name, key: result.finding.key, id: result.finding.id, distinct });
          if (distinct) hooks.event?.({ type: 'finding', finding: result.finding });
        }
      }
    } finally {
      lane.close();
    }
  };

  const workers = config.facts.mode === 'serial' ? 1 : Math.max(1, config.concurrency);
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    over = true;
    clearInterval(ticker);
  }
  if (state.status !== 'target-died' && interrupted()) state.status = 'interrupted';
  const final = snapshot();
  hooks.event?.({ type: 'progress', stats: final });
  return {
    status: state.status,
    death: state.death,
    stats: final,
    properties: config.properties.map((property) => ({ property, tally: tallies.get(property.name)! })),
    findings: [...findings.values()].sort((a, b) => a.index - b.index || a.key.localeCompare(b.key)),
    planned: shardSize(config.shard, config.runs),
  };
}
