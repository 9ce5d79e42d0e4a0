/**
 * `h1spec fuzz --time 5s` against the chaos servers of test/support/chaos-servers.ts: each campaign ends within its
 * budget with a manifest, never crashes, takes no timeout or dying target for a finding, and names the case after
 * which a target died. A hang fails by the test's own time limit (the budget plus start-up and slack); nothing here
 * measures time.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CHAOS_BEHAVIOURS, ChaosServer, DyingServer, type ChaosBehaviour } from './support/chaos-servers.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BUDGET = '5s';
const CASE_TIMEOUT_MS = 1000;
/** The budget, the cases still running when it ends (each bounded by the case timeout), start-up and a loaded machine. */
const TEST_MS = 90_000;

interface Manifest {
  status: string;
  counts: { runs: number; findings: number; errors: number };
  death: string | null;
}

interface Campaign {
  code: number | null;
  stderr: string;
  manifest: Manifest | null;
  /** The reasons of the cases the campaign could not decide. */
  errors: string[];
}

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'h1spec-chaos-fuzz-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function fuzz(port: number, name: string, extra: string[] = []): Promise<Campaign> {
  const out = join(folder, name);
  const args = ['bin/h1spec.mjs', 'fuzz', '--target', `127.0.0.1:${port}`, '--time', BUDGET, '--timeout', String(CASE_TIMEOUT_MS), '--seed', '1', '--out', out, ...extra];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: TEST_MS, env: { ...process.env, H1SPEC_DEBUG: '' } }, (error, _stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
    );
  });
  const manifest = await readFile(join(out, 'manifest.json'), 'utf8').then((text) => JSON.parse(text) as Manifest, () => null);
  const events = await readFile(join(out, 'events.jsonl'), 'utf8').catch(() => '');
  const errors = events
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string; reason?: string })
    .filter((event) => event.type === 'error')
    .map((event) => event.reason ?? '');
  return { code, stderr, manifest, errors };
}

async function withServer<T extends { stop(): Promise<void> }>(server: T, use: (server: T) => Promise<void>): Promise<void> {
  try {
    await use(server);
  } finally {
    await server.stop();
  }
}

describe.concurrent('h1spec fuzz --time 5s against chaos targets', { timeout: TEST_MS }, () => {
  it.for(CHAOS_BEHAVIOURS)('%s (answering the harness its opening and liveness GETs): the budget ends it, no finding, every undecided case says why', async (behaviour, { expect }) => {
    await withServer(await ChaosServer.start(behaviour, { honestLiveness: true }), async (server) => {
      const campaign = await fuzz(server.port, `honest-${behaviour}`);
      expect(campaign.stderr).not.toMatch(/internal error|\bat .*:\d+:\d+/);
      expect(campaign.code).toBe(0);
      expect(campaign.manifest).toMatchObject({ status: 'time-up', death: null, counts: { findings: 0 } });
      expect(campaign.errors.filter((reason) => !/\S/.test(reason))).toEqual([]);
    });
  });

  it.for(['garbage', 'drip'] as ChaosBehaviour[])('%s from the first request: the budget ends it, no finding', async (behaviour, { expect }) => {
    await withServer(await ChaosServer.start(behaviour), async (server) => {
      const campaign = await fuzz(server.port, `literal-${behaviour}`);
      expect(campaign.code).toBe(0);
      expect(campaign.manifest).toMatchObject({ status: 'time-up', death: null, counts: { findings: 0 } });
    });
  });

  it('silent from the first request: one line naming the cause, exit 2, no campaign', async ({ expect }) => {
    await withServer(await ChaosServer.start('silent'), async (server) => {
      const campaign = await fuzz(server.port, 'literal-silent');
      expect(campaign.code).toBe(2);
      expect(campaign.stderr).toBe(`h1spec: cannot reach 127.0.0.1:${server.port} (--target): a GET got no answer (connection timeout)\n`);
      expect(campaign.manifest).toBeNull();
    });
  });

  it('a target that dies halfway, one case at a time: named after the last case run, and nothing it saw dying is a finding', async ({ expect }) => {
    await withServer(await DyingServer.start((_head, connection) => connection > 150), async (server) => {
      const campaign = await fuzz(server.port, 'dying-serial', ['--concurrency', '1']);
      expect(campaign.code).toBe(1);
      expect(campaign.manifest).toMatchObject({ status: 'target-died', counts: { findings: 0 } });
      expect(campaign.manifest!.death).toMatch(new RegExp(`^after case ${campaign.manifest!.counts.runs - 1} \\([a-z-]+\\): .*ECONNREFUSED`));
      expect(campaign.errors.at(-1)).toMatch(/^the target died during this case \(/);
      expect(campaign.stderr).toContain(`the target died: ${campaign.manifest!.death}`);
    });
  });

  it('a target that dies halfway, eight cases at once: the cases running with the one named are named too', async ({ expect }) => {
    await withServer(await DyingServer.start((_head, connection) => connection > 150), async (server) => {
      const campaign = await fuzz(server.port, 'dying-concurrent', ['--concurrency', '8']);
      expect(campaign.code).toBe(1);
      expect(campaign.manifest).toMatchObject({ status: 'target-died', counts: { findings: 0 } });
      expect(campaign.manifest!.death).toMatch(/^after case \d+ \([a-z-]+\): .*; cases [\d, ]+ ran at the same time \(--concurrency 1 tells which\)$/);
    });
  });
});
