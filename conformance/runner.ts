import { readFileSync } from 'node:fs';
import type {
  CheckContext,
  CheckResult,
  CheckVerdict,
  Evidence,
  Level,
  Profile,
  Requirement,
  ServerMode,
  Verdict,
} from './catalogue/types.ts';
import { applyExpectation, unknownIdMessage, type Expectation, type Manifest } from './manifest.ts';
import { parseProbeReport } from './probes/contract.ts';
import type { RunningTarget } from './targets/types.ts';
import { exchange, formatEndpoint, LIVENESS_REQUEST } from './wire/client.ts';
import type { Endpoint } from './wire/types.ts';

export const TOOL: { name: string; version: string } = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
})();

export const VERDICTS: readonly Verdict[] = ['pass', 'fail', 'error', 'skip', 'xfail', 'xpass'];

export const SKIP_REASONS = {
  probe: 'needs the probe application (see README: probes)',
  log: "needs the target's log: use --spawn",
  mode: (mode: ServerMode) => `applies to ${mode} targets (--mode ${mode})`,
} as const;

export interface RunOptions {
  /** The profiles the selection was made for; recorded in the report. */
  profiles: readonly Profile[];
  /** SHOULD and MAY failures count toward the gate. */
  strict: boolean;
  /** What the target is; checks that need the other mode are skipped. */
  mode: ServerMode;
  /** Limit for a whole check, and the `ctx.timeoutMs` each of its single waits gets. */
  timeoutMs: number;
  /** Total time for the run; checks not started when it is spent are `error`. */
  budgetMs?: number;
  /** How many non-exclusive checks may run at once (1 for a serial target, whatever is asked). */
  concurrency: number;
  manifest?: Manifest | null;
  /** The command-line flags that reach the same target again, for "rerun" hints in reports. */
  targetFlags?: readonly string[];
  observer?: RunObserver;
}

/** Hooks for live feedback (progress bars); the report is the same without them. */
export interface RunObserver {
  started(total: number): void;
  checkFinished(record: CheckRecord, done: number): void;
  finished(): void;
}

export interface CheckRecord {
  id: string;
  title: string;
  level: Level;
  profiles: Profile[];
  source: string;
  verdict: Verdict;
  /** Whether this result can fail the run: MUST checks, every check under --strict, and every unexpected pass. */
  scored: boolean;
  /** The check's own words: what the requirement accepts, and what was seen. Empty when the check did not run. */
  expected: string;
  actual: string;
  evidence: Evidence[];
  durationMs: number;
  /** Why a check was skipped or errored (by itself or by the harness). */
  reason?: string;
  /** The manifest entry for this ID, if any. */
  expectation?: Expectation;
}

export interface TargetDeath {
  /** The check after which the target was found dead. */
  after: string;
  detail: string;
}

export interface RunReport {
  tool: { name: string; version: string };
  target: string;
  endpoint: Endpoint;
  targetFlags: string[];
  profiles: Profile[];
  strict: boolean;
  mode: ServerMode;
  /** What the harness found on the target before the first check. */
  probe: boolean;
  log: boolean;
  manifest: string | null;
  started: string;
  finished: string;
  wallMs: number;
  counts: Record<Verdict, number>;
  death: TargetDeath | null;
  results: CheckRecord[];
}

/** The target did not answer a plain GET before any check ran; nothing can be concluded about it. */
export class TargetUnreachableError extends Error {
  override name = 'TargetUnreachableError';
}

export interface Selection {
  profiles: readonly Profile[];
  only?: readonly string[];
  skip?: readonly string[];
}

/**
 * The requirements a run covers, in catalogue order: those of the selected profiles, plus every `only` ID whatever
 * its profile (with `only`, just those), minus `skip`. Unknown IDs throw, naming the nearest known ID.
 */
export function selectRequirements(catalogue: readonly Requirement[], selection: Selection): Requirement[] {
  const knownIds = catalogue.map((r) => r.id);
  for (const [flag, ids] of [['--only', selection.only], ['--skip', selection.skip]] as const) {
    for (const id of ids ?? []) {
      if (!knownIds.includes(id)) throw new UnknownIdError(`${flag}: ${unknownIdMessage(id, knownIds)}`);
    }
  }
  const skipped = new Set(selection.skip ?? []);
  const only = selection.only && selection.only.length > 0 ? new Set(selection.only) : null;
  return catalogue.filter(
    (r) => !skipped.has(r.id) && (only ? only.has(r.id) : r.profiles.some((p) => selection.profiles.includes(p))),
  );
}

export class UnknownIdError extends Error {
  override name = 'UnknownIdError';
}

/** The results that fail the run: scored fails and errors, and every unexpected pass. */
export function failingResults(report: RunReport): CheckRecord[] {
  return report.results.filter((r) => r.scored && (r.verdict === 'fail' || r.verdict === 'error' || r.verdict === 'xpass'));
}

/** 0 when every scored check passed or went as the manifest said and the target outlived the run; else 1. */
export function exitCodeFor(report: RunReport): 0 | 1 {
  return failingResults(report).length > 0 || report.death ? 1 : 0;
}

/**
 * Runs the requirements against a target that is already up, and never throws for a check's sake: a check that
 * throws, hangs or runs into a dead target becomes an `error` result. Throws TargetUnreachableError only when the
 * target does not answer before the first check.
 */
export async function runChecks(
  requirements: readonly Requirement[],
  target: RunningTarget,
  options: RunOptions,
): Promise<RunReport> {
  const startedAt = new Date();
  const wallStart = performance.now();
  const deadline = options.budgetMs === undefined ? Infinity : wallStart + options.budgetMs;
  const liveness = watchTarget(target, options.timeoutMs);

  const opening = await liveness.fetchRoot();
  if (!opening.answered) throw new TargetUnreachableError(`cannot reach ${target.description}: ${opening.detail}`);
  const ctxBase = {
    endpoint: target.endpoint,
    timeoutMs: options.timeoutMs,
    mode: options.mode,
    probe: opening.body !== null && parseProbeReport(opening.body) !== null,
  };

  const records = new Array<CheckRecord>(requirements.length);
  let done = 0;
  const settle = (index: number, record: CheckRecord): void => {
    records[index] = record;
    done++;
    options.observer?.checkFinished(record, done);
  };
  const concurrency = options.mode === 'serial' ? 1 : Math.max(1, options.concurrency);
  // Held in an object because checks running concurrently set it from their own callbacks.
  const run: { death: TargetDeath | null } = { death: null };
  const inFlight = new Set<Promise<void>>();
  /** IDs of the checks started and not yet found to have left the target alive: one of them killed it, if it died. */
  const unconfirmed = new Set<string>();

  const execute = async (requirement: Requirement, index: number): Promise<void> => {
    const window = requirement.needs.log && target.log ? target.log.window() : null;
    const ctx: CheckContext = { ...ctxBase, log: window };
    const checkStart = performance.now();
    unconfirmed.add(requirement.id);
    const outcome = await runWithDeadline(requirement, ctx, options.timeoutMs);
    const durationMs = Math.round(performance.now() - checkStart);
    if (run.death) {
      // A check that ended after the target was found dead may have failed only because of it.
      settle(index, notRun(requirement, options, 'error', `target died after ${run.death.after}`));
      return;
    }
    const state = await liveness.check();
    if (state.alive) {
      unconfirmed.delete(requirement.id);
      settle(index, scoredRecord(requirement, options, outcome, durationMs));
      return;
    }
    run.death ??= { after: requirement.id, detail: deathDetail(state.detail, requirement.id, unconfirmed) };
    settle(index, diedDuring(scoredRecord(requirement, options, outcome, durationMs), requirement, options, state.detail));
  };

  options.observer?.started(requirements.length);
  for (const [index, requirement] of requirements.entries()) {
    const unmet = unmetNeed(requirement, ctxBase.probe, target.log !== null, options.mode);
    if (unmet) {
      settle(index, notRun(requirement, options, 'skip', unmet));
      continue;
    }
    const alone = Boolean(requirement.needs.exclusive || requirement.needs.log);
    while (inFlight.size >= (alone ? 1 : concurrency)) await Promise.race(inFlight);
    const stop = run.death
      ? `target died after ${run.death.after}`
      : performance.now() >= deadline
        ? 'budget exhausted'
        : null;
    if (stop) {
      settle(index, notRun(requirement, options, 'error', stop));
      continue;
    }
    const running = execute(requirement, index).finally(() => inFlight.delete(running));
    inFlight.add(running);
    if (alone) await running;
  }
  await Promise.all(inFlight);
  options.observer?.finished();

  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const record of records) counts[record.verdict]++;
  return {
    tool: TOOL,
    target: target.description,
    endpoint: target.endpoint,
    targetFlags: [...(options.targetFlags ?? [])],
    profiles: [...options.profiles],
    strict: options.strict,
    mode: options.mode,
    probe: ctxBase.probe,
    log: target.log !== null,
    manifest: options.manifest?.source ?? null,
    started: startedAt.toISOString(),
    finished: new Date().toISOString(),
    wallMs: Math.round(performance.now() - wallStart),
    counts,
    death: run.death,
    results: records,
  };
}

function unmetNeed(requirement: Requirement, probe: boolean, log: boolean, mode: ServerMode): string | null {
  const { needs } = requirement;
  if (needs.mode && needs.mode !== mode) return SKIP_REASONS.mode(needs.mode);
  if (needs.probe && !probe) return SKIP_REASONS.probe;
  if (needs.log && !log) return SKIP_REASONS.log;
  return null;
}

type Outcome = { result: CheckResult } | { error: string };

/**
 * Gives the check a little longer than one single wait of its own, so a check that reports its own timeout (with
 * evidence) wins over the harness's blunt "timed out".
 */
const WATCHDOG_GRACE_MS = 250;

async function runWithDeadline(requirement: Requirement, ctx: CheckContext, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ error: `timed out after ${timeoutMs} ms` }), timeoutMs + WATCHDOG_GRACE_MS);
  });
  const checked = (async (): Promise<Outcome> => {
    try {
      const result = await requirement.check(ctx);
      return isCheckResult(result) ? { result } : { error: 'the check returned something that is not a CheckResult' };
    } catch (err) {
      return { error: `the check threw: ${err instanceof Error ? err.message : String(err)}` };
    }
  })();
  try {
    return await Promise.race([checked, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

const CHECK_VERDICTS: readonly CheckVerdict[] = ['pass', 'fail', 'skip', 'error'];

function isCheckResult(value: unknown): value is CheckResult {
  const r = value as Partial<CheckResult> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    CHECK_VERDICTS.includes(r.verdict as CheckVerdict) &&
    typeof r.expected === 'string' &&
    typeof r.actual === 'string' &&
    Array.isArray(r.evidence) &&
    r.evidence.every((e: Partial<Evidence>) => typeof e.label === 'string' && Buffer.isBuffer(e.sent) && Buffer.isBuffer(e.received) && typeof e.close === 'string')
  );
}

function isScored(requirement: Requirement, options: RunOptions, verdict: Verdict): boolean {
  // An expectation is an explicit claim about the target, so its breach counts whatever the level.
  return verdict === 'xpass' || requirement.level === 'MUST' || options.strict;
}

function baseRecord(requirement: Requirement): Pick<CheckRecord, 'id' | 'title' | 'level' | 'profiles' | 'source'> {
  const { id, title, level, profiles, source } = requirement;
  return { id, title, level, profiles: [...profiles], source };
}

function scoredRecord(requirement: Requirement, options: RunOptions, outcome: Outcome, durationMs: number): CheckRecord {
  if ('error' in outcome) {
    const record = notRun(requirement, options, 'error', outcome.error);
    return { ...record, durationMs };
  }
  const { result } = outcome;
  const expectation = options.manifest?.expectations.get(requirement.id);
  const verdict = applyExpectation(result.verdict, expectation);
  const reason = ownReason(result);
  return {
    ...baseRecord(requirement),
    verdict,
    scored: isScored(requirement, options, verdict),
    expected: result.expected,
    actual: result.actual,
    evidence: result.evidence.map(keptEvidence),
    durationMs,
    ...(reason !== undefined && { reason }),
    ...(expectation && { expectation }),
  };
}

/**
 * How the target was found dead. With checks running at once, the one whose own liveness probe failed first need not
 * be the one that killed it: every check not yet confirmed harmless is named, so a rerun of those with
 * `--concurrency 1` tells which.
 */
function deathDetail(detail: string, after: string, unconfirmed: ReadonlySet<string>): string {
  const others = [...unconfirmed].filter((id) => id !== after);
  return others.length === 0 ? detail : `${detail}; ${others.join(', ')} ran at the same time (--concurrency 1 --only them tells which)`;
}

/** A check after which the target no longer answered: what it saw may be the death itself, so it decides nothing. */
function diedDuring(record: CheckRecord, requirement: Requirement, options: RunOptions, detail: string): CheckRecord {
  const seen = record.reason ?? `${record.verdict}: ${record.actual}`;
  const { verdict, scored, reason } = notRun(requirement, options, 'error', `the target died during this check (${detail}); the check saw: ${seen}`);
  return { ...record, verdict, scored, reason };
}

/** What a report keeps of the bytes a target sent on one connection: room for a 64 KiB header line echoed back, never a flood. */
export const EVIDENCE_MAX_RECEIVED = 256 * 1024;

/** Evidence with its received bytes cut to EVIDENCE_MAX_RECEIVED (copied, so the rest is freed), saying so in `close`. */
function keptEvidence(evidence: Evidence): Evidence {
  const { received } = evidence;
  if (received.length <= EVIDENCE_MAX_RECEIVED) return evidence;
  const kept = Buffer.from(received.subarray(0, EVIDENCE_MAX_RECEIVED));
  return { ...evidence, received: kept, close: `${evidence.close} (after ${received.length} bytes; the first ${EVIDENCE_MAX_RECEIVED} kept)` };
}

/** A check that skipped or errored by itself explains why in its `actual`. */
function ownReason(result: CheckResult): string | undefined {
  return result.verdict === 'skip' || result.verdict === 'error' ? result.actual : undefined;
}

/** A record for a check the harness decided without (or despite) running it. */
function notRun(requirement: Requirement, options: RunOptions, verdict: 'skip' | 'error', reason: string): CheckRecord {
  const expectation = options.manifest?.expectations.get(requirement.id);
  const folded = applyExpectation(verdict, expectation);
  return {
    ...baseRecord(requirement),
    verdict: folded,
    scored: isScored(requirement, options, folded),
    expected: '',
    actual: '',
    evidence: [],
    durationMs: 0,
    reason,
    ...(expectation && { expectation }),
  };
}

/**
 * A liveness GET that only timed out may have met a loaded machine rather than a dead target: the target is declared
 * dead on a refusal, a reset, an exit, or this many timeouts in a row.
 */
const LIVENESS_ATTEMPTS = 3;

interface Answer {
  answered: boolean;
  /** The GET failed by running out of time (connecting or reading), which alone proves no death. */
  timedOut: boolean;
  /** The response body when a complete response came back. */
  body: Buffer | null;
  detail: string;
}

/** Tells whether the target still serves: a plain GET answered, and (for a target the harness owns) no exit. */
function watchTarget(target: RunningTarget, timeoutMs: number) {
  let exited: string | null = null;
  target.exited.then(
    (how) => (exited = how),
    (err: unknown) => (exited = String(err)),
  );
  const ask = async (request: Buffer): Promise<Answer> => {
    try {
      const conversation = await exchange(target.endpoint, request, { methods: ['GET'], timeoutMs, after: 'none' });
      const response = conversation.responses[0];
      if (response) return { answered: true, body: response.complete ? response.body : null, detail: '', timedOut: false };
      const timedOut = conversation.close === 'timeout';
      const detail = timedOut ? `no answer to a GET within ${timeoutMs} ms` : `a GET got no answer (connection ${conversation.close})`;
      return { answered: false, body: null, detail, timedOut };
    } catch (err) {
      // Only connecting rejects; the client's message repeats the address, which the caller already names.
      const { code, message } = err as NodeJS.ErrnoException;
      const detail = code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : message;
      return { answered: false, body: null, detail, timedOut: code === 'ETIMEDOUT' };
    }
  };
  const root = Buffer.from(`GET / HTTP/1.1\r\nHost: ${formatEndpoint(target.endpoint)}\r\nConnection: close\r\n\r\n`, 'latin1');
  return {
    /** The target's answer to `GET /`: whether it serves at all, and whether it is the probe application. */
    fetchRoot: () => ask(root),
    async check(): Promise<{ alive: boolean; detail: string }> {
      for (let attempt = 1; exited === null; attempt++) {
        const answer = await ask(LIVENESS_REQUEST);
        // The process may have ended while the GET was on its way; its exit says more than a refused connection.
        if (exited !== null) break;
        if (answer.answered || !answer.timedOut || attempt === LIVENESS_ATTEMPTS) {
          return { alive: answer.answered, detail: attempt > 1 ? `${answer.detail}, ${attempt} times in a row` : answer.detail };
        }
      }
      return { alive: false, detail: `the process ended (${exited})` };
    },
  };
}
