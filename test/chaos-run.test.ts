/**
 * `h1spec run` against servers that break the protocol on purpose (test/support/chaos-servers.ts): the run ends
 * within its budget, never crashes, and reports `error` with a cause for what the target could not be asked; a
 * verdict of pass or fail always rests on something the target did (bytes it sent, or a close). A target that dies
 * halfway is named with the check after which it died. Nothing here measures time: a hang fails by the test's own
 * time limit, which is the budget plus one check's time plus slack.
 */
import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { catalogue } from '../conformance/catalogue/index.ts';
import type { JsonReport } from '../conformance/reporters/json.ts';
import type { Evidence } from '../conformance/catalogue/types.ts';
import { EVIDENCE_MAX_RECEIVED, runChecks, TargetUnreachableError, type CheckRecord, type RunReport } from '../conformance/runner.ts';
import { DEFAULT_MAX_BYTES } from '../conformance/wire/client.ts';
import { CHAOS_BEHAVIOURS, ChaosServer, DyingServer, type ChaosBehaviour } from './support/chaos-servers.ts';

const ROOT = new URL('..', import.meta.url).pathname;
/** Short, so a target that never answers costs little; the fast targets get longer, so load cannot turn their answers into timeouts. */
const SLOW_TARGET_TIMEOUT_MS = 1000;
const FAST_TARGET_TIMEOUT_MS = 5000;
const BUDGET_MS = 4000;
/** What the runner may take past its budget (the checks already started, each bounded by its timeout) and process start-up. */
const SLACK_MS = 30_000;
const TEST_MS = BUDGET_MS + FAST_TARGET_TIMEOUT_MS + SLACK_MS;

const SLOW: ReadonlySet<ChaosBehaviour> = new Set(['silent', 'hang-mid-headers', 'drip', 'endless-body', 'huge']);

const servers: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function chaos(behaviour: ChaosBehaviour, honestLiveness: boolean): Promise<ChaosServer> {
  const server = await ChaosServer.start(behaviour, { honestLiveness });
  servers.push(server);
  return server;
}

function timeoutFor(behaviour: ChaosBehaviour): number {
  return SLOW.has(behaviour) ? SLOW_TARGET_TIMEOUT_MS : FAST_TARGET_TIMEOUT_MS;
}

function runAgainst(server: ChaosServer | DyingServer, description: string, timeoutMs: number, concurrency = 16): Promise<RunReport> {
  return runChecks(catalogue, server.asTarget(description), {
    profiles: ['django', 'wsgi', 'rfc'],
    strict: false,
    mode: 'threaded',
    timeoutMs,
    budgetMs: BUDGET_MS,
    concurrency,
  });
}

/** How many bytes the target sent on an evidence's connection; the runner keeps only the first EVIDENCE_MAX_RECEIVED and says so in `close`. */
function receivedTotal(evidence: Evidence): number {
  const cut = /\(after (\d+) bytes; the first \d+ kept\)$/.exec(evidence.close);
  return cut ? Number(cut[1]) : evidence.received.length;
}

/** The dying target's trigger: the first check in catalogue order to send a TLS handshake record kills it. */
const startsTlsHandshake = (head: string): boolean => head.startsWith('\x16\x03');

/** A pass or fail with nothing from the target behind it: no byte received and no close on any connection. */
function decidedOnNothing(record: CheckRecord): boolean {
  const decided = record.verdict === 'pass' || record.verdict === 'fail';
  return decided && record.evidence.every((e) => e.received.length === 0 && e.close !== 'eof' && e.close !== 'reset');
}

/** Every check the run could not decide says why; every decision rests on something the target did. */
function expectHonestVerdicts(report: RunReport): void {
  for (const record of report.results) {
    if (record.verdict === 'error') expect(record.reason, record.id).toMatch(/\S/);
    expect(decidedOnNothing(record), `${record.id}: ${record.verdict} on nothing: ${record.actual}`).toBe(false);
  }
}

describe('runChecks against a chaos target that answers the harness its opening and liveness requests', { timeout: TEST_MS }, () => {
  it.each(CHAOS_BEHAVIOURS)('%s: the run ends within its budget, the target is not declared dead, and no verdict rests on nothing', async (behaviour) => {
    const server = await chaos(behaviour, true);
    const report = await runAgainst(server, behaviour, timeoutFor(behaviour));
    expect(report.death).toBeNull();
    expect(report.results).toHaveLength(catalogue.length);
    expectHonestVerdicts(report);
    const decided = report.results.filter((r) => r.verdict === 'pass' || r.verdict === 'fail');
    switch (behaviour) {
      case 'silent':
        expect(decided).toEqual([]);
        break;
      case 'hang-mid-headers':
      case 'drip':
        // A response that never completes its head satisfies nothing.
        expect(report.counts.pass).toBe(0);
        break;
      case 'endless-body':
      case 'huge':
        // Whatever was cut at the harness's read cap was never judged, and the report keeps a bounded part of it.
        for (const record of report.results.filter((r) => r.evidence.some((e) => receivedTotal(e) >= DEFAULT_MAX_BYTES))) {
          expect(record.verdict, record.id).toBe('error');
        }
        for (const evidence of report.results.flatMap((r) => r.evidence)) expect(evidence.received.length).toBeLessThanOrEqual(EVIDENCE_MAX_RECEIVED);
        break;
      case 'reset-mid-response':
      case 'garbage':
        // Answered, wrongly, at once: the checks decide, and a response cut short is never a request served.
        expect(report.counts.fail).toBeGreaterThan(0);
        expect(report.results.filter((r) => r.verdict === 'pass' && /^served: .*cut short/.test(r.actual))).toEqual([]);
        break;
    }
  });
});

describe('runChecks against a chaos target that misbehaves from the first request', { timeout: TEST_MS }, () => {
  it('silent: unreachable before any check, with the cause, instead of a report of guesses', async () => {
    const server = await chaos('silent', false);
    await expect(runAgainst(server, 'silent', SLOW_TARGET_TIMEOUT_MS)).rejects.toThrow(
      new TargetUnreachableError(`cannot reach silent: no answer to a GET within ${SLOW_TARGET_TIMEOUT_MS} ms`),
    );
  });

  it.each(CHAOS_BEHAVIOURS.filter((b) => b !== 'silent'))('%s: the run ends within its budget and no verdict rests on nothing', async (behaviour) => {
    const server = await chaos(behaviour, false);
    const report = await runAgainst(server, behaviour, timeoutFor(behaviour));
    expect(report.results).toHaveLength(catalogue.length);
    expectHonestVerdicts(report);
  });
});

describe('a target that dies halfway through the run', { timeout: TEST_MS }, () => {

  /** The check whose own bytes killed the target: its evidence holds the request that did. */
  function killerOf(report: RunReport, server: DyingServer): CheckRecord | undefined {
    const killedBy = server.killedBy;
    return killedBy === null ? undefined : report.results.find((r) => r.evidence.some((e) => e.sent.toString('latin1').includes(killedBy)));
  }

  async function dying(): Promise<DyingServer> {
    const server = await DyingServer.start(startsTlsHandshake);
    servers.push(server);
    return server;
  }

  it('one check at a time: named exactly, the killer and every check after it errors with the cause, none before it', async () => {
    const server = await dying();
    const report = await runAgainst(server, 'dying', FAST_TARGET_TIMEOUT_MS, 1);
    const killer = killerOf(report, server);
    expect(killer).toBeDefined();
    expect(report.death?.after).toBe(killer!.id);
    expect(killer!.verdict).toBe('error');
    expect(killer!.reason).toMatch(/^the target died during this check \(.+\); the check saw: /);
    const killerIndex = report.results.indexOf(killer!);
    const before = report.results.slice(0, killerIndex);
    const after = report.results.slice(killerIndex + 1).filter((r) => r.verdict !== 'skip');
    expect(before.filter((r) => r.reason?.includes('died'))).toEqual([]);
    expect(after.length).toBeGreaterThan(0);
    for (const record of after) expect([record.id, record.verdict, record.reason]).toEqual([record.id, 'error', `target died after ${killer!.id}`]);
  });

  it('many checks at once: the killer is the check named, or one of those named as running at the same time', async () => {
    const server = await dying();
    const report = await runAgainst(server, 'dying', FAST_TARGET_TIMEOUT_MS, 8);
    const killer = killerOf(report, server);
    expect(killer).toBeDefined();
    expect(report.death).not.toBeNull();
    const named = [report.death!.after, ...(/; (.+) ran at the same time/.exec(report.death!.detail)?.[1]?.split(', ') ?? [])];
    expect(named).toContain(killer!.id);
    expect(killer!.verdict).toBe('error');
    expectHonestVerdicts(report);
  });
});

interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function h1spec(...args: string[]): Promise<CliOutcome> {
  return new Promise((resolve) => {
    const options = { cwd: ROOT, timeout: TEST_MS, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, H1SPEC_DEBUG: '' } };
    execFile(process.execPath, ['bin/h1spec.mjs', ...args], options, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('the h1spec run CLI against chaos targets', { timeout: TEST_MS }, () => {
  const flags = (server: { port: number }, timeoutMs: number) => ['run', '--target', `127.0.0.1:${server.port}`, '--profile', 'django,wsgi,rfc', '--timeout', String(timeoutMs), '--budget', String(BUDGET_MS)];

  it('a target that never answers: one line naming the cause, exit 2', async () => {
    const server = await chaos('silent', false);
    const { code, stdout, stderr } = await h1spec(...flags(server, SLOW_TARGET_TIMEOUT_MS));
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(`h1spec: cannot reach 127.0.0.1:${server.port} (--target): no answer to a GET within ${SLOW_TARGET_TIMEOUT_MS} ms\n`);
  });

  it.each(['drip', 'garbage', 'huge'] as const)('%s: a JSON report, every error with its cause, exit 1', async (behaviour) => {
    const server = await chaos(behaviour, true);
    const { code, stdout, stderr } = await h1spec(...flags(server, timeoutFor(behaviour)), '--json', '-');
    expect(code).toBe(1);
    expect(stderr).not.toMatch(/internal error|\bat .*:\d+:\d+/);
    const report = JSON.parse(stdout) as JsonReport;
    expect(report.results).toHaveLength(catalogue.length);
    for (const result of report.results.filter((r) => r.verdict === 'error')) expect(result.reason, result.id).toMatch(/\S/);
  });

  it('a target that dies halfway: TAP says after which check, exit 1', async () => {
    const server = await DyingServer.start(startsTlsHandshake);
    servers.push(server);
    const { code, stdout } = await h1spec(...flags(server, FAST_TARGET_TIMEOUT_MS), '--concurrency', '1');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^# target died after [A-Z0-9-]+: /m);
  });
});
