/**
 * Section 2: how fast the harness gets through the whole django profile, against the embedded reference (what
 * `h1spec run` starts by default) and against real Django's runserver, with the settings `h1spec run` uses by default.
 * Each target is run several times: the first run pays for compiling the checks, and the best run is the harness's speed.
 */
import { catalogue } from '../conformance/catalogue/index.ts';
import type { Profile } from '../conformance/catalogue/types.ts';
import { runChecks, selectRequirements, type RunReport } from '../conformance/runner.ts';
import { startEmbeddedReference } from '../conformance/targets/embedded.ts';
import { peerNamed, spawnPeer } from '../conformance/targets/peers.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { withTarget } from './servers/index.ts';

export interface HarnessOptions {
  runs: number;
}

/** `h1spec run`'s defaults (conformance/commands/run.ts). */
export const RUN_DEFAULTS = { timeoutMs: 5000, concurrency: 8 } as const;

const PROFILES: Profile[] = ['django'];
const SLOWEST_SHOWN = 6;

export interface HarnessTargetResult {
  target: string;
  checks: number;
  /** Wall time of each run, in order (the first includes compiling the checks). */
  runsMs: number[];
  bestMs: number;
  checksPerSecond: number;
  counts: RunReport['counts'];
  /** The checks that must run alone (they read the log or hold the server): their durations add up, never overlap. */
  aloneMs: number;
  aloneChecks: number;
  /** Sum of every check's duration in the best run: what a harness running one check at a time would take, at least. */
  serialMs: number;
  slowest: Array<{ id: string; durationMs: number; verdict: string }>;
}

export interface HarnessReport {
  options: HarnessOptions & typeof RUN_DEFAULTS;
  targets: HarnessTargetResult[];
}

async function measureTarget(name: string, target: RunningTarget, options: HarnessOptions): Promise<HarnessTargetResult> {
  const requirements = selectRequirements(catalogue, { profiles: PROFILES });
  const reports: RunReport[] = [];
  for (let run = 0; run < options.runs; run++) {
    reports.push(await runChecks(requirements, target, { profiles: PROFILES, strict: false, mode: 'threaded', ...RUN_DEFAULTS }));
  }
  const best = reports.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const alone = new Set(requirements.filter((r) => r.needs.exclusive || r.needs.log).map((r) => r.id));
  const ran = best.results.filter((r) => r.verdict !== 'skip');
  return {
    target: name,
    checks: requirements.length,
    runsMs: reports.map((r) => r.wallMs),
    bestMs: best.wallMs,
    checksPerSecond: requirements.length / (best.wallMs / 1000),
    counts: best.counts,
    aloneMs: ran.filter((r) => alone.has(r.id)).reduce((sum, r) => sum + r.durationMs, 0),
    aloneChecks: ran.filter((r) => alone.has(r.id)).length,
    serialMs: ran.reduce((sum, r) => sum + r.durationMs, 0),
    slowest: [...ran]
      .sort((a, b) => b.durationMs - a.durationMs)
      .slice(0, SLOWEST_SHOWN)
      .map(({ id, durationMs, verdict }) => ({ id, durationMs, verdict })),
  };
}

export async function measureHarness(options: HarnessOptions): Promise<HarnessReport> {
  const django = peerNamed('django');
  if (!django) throw new Error('no django peer recipe in conformance/targets/peers.ts');
  const targets = [
    await withTarget(
      () => startEmbeddedReference({ mode: 'threaded' }),
      (target) => measureTarget('reference (embedded, as `h1spec run`)', target, options),
    ),
    await withTarget(
      () => spawnPeer(django, { startTimeoutMs: 30_000 }),
      (target) => measureTarget('Django 3.2 runserver (spawned)', target, options),
    ),
  ];
  return { options: { ...options, ...RUN_DEFAULTS }, targets };
}
