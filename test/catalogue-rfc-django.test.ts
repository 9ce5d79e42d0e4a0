/**
 * conformance/expectations/django*.yaml against the servers they describe: the rfc profile run against real Django
 * 3.2 (spawned) and against the reference server must fail exactly the checks the manifest lists, pass every other,
 * and be undecided (error) nowhere.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { catalogue } from '../conformance/catalogue/index.ts';
import type { ServerMode } from '../conformance/catalogue/types.ts';
import { loadManifest, type Manifest } from '../conformance/manifest.ts';
import { runChecks, selectRequirements } from '../conformance/runner.ts';
import { peerMissing, peerNamed, REPO_ROOT, spawnPeer, type PeerRecipe } from '../conformance/targets/peers.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { CHECK_TIMEOUT_MS, startReference } from './support/catalogue-targets.ts';

const profile = selectRequirements(catalogue, { profiles: ['rfc'] });

/** Each record's verdict with the manifest applied, and the IDs whose verdict is not the one the manifest implies. */
async function gate(target: RunningTarget, mode: ServerMode, manifest: Manifest): Promise<string[]> {
  const report = await runChecks(profile, target, { profiles: ['rfc'], strict: true, mode, timeoutMs: CHECK_TIMEOUT_MS, concurrency: 8, manifest });
  const skippedForMode = new Set(profile.filter((requirement) => requirement.needs.mode && requirement.needs.mode !== mode).map((requirement) => requirement.id));
  return report.results
    .filter((record) => {
      const wanted = manifest.expectations.has(record.id) ? 'xfail' : skippedForMode.has(record.id) ? 'skip' : 'pass';
      return record.verdict !== wanted;
    })
    .map((record) => `${record.id}: ${record.verdict}: ${record.actual || record.reason}`);
}

describe.each([
  { peer: 'django', mode: 'threaded' as const },
  { peer: 'django-nothreading', mode: 'serial' as const },
])('the expectation manifest of $peer', ({ peer: name, mode }) => {
  const peer = peerNamed(name) as PeerRecipe;
  let manifest: Manifest;
  beforeAll(async () => {
    manifest = await loadManifest(join(REPO_ROOT, 'conformance/expectations', `${name}.yaml`), catalogue.map((requirement) => requirement.id));
  });

  test('lists only failures of rfc-profile checks, each with the Python code that causes it', () => {
    const rfcIds = new Set(profile.map((requirement) => requirement.id));
    expect(manifest.expectations.size).toBeGreaterThan(0);
    for (const [id, expectation] of manifest.expectations) {
      expect(rfcIds.has(id), id).toBe(true);
      expect(expectation.verdict, id).toBe('fail');
      expect(expectation.reason, id).toMatch(/\.py\b/);
    }
  });

  describe('real Django 3.2', () => {
    let target: RunningTarget;
    beforeAll(async () => {
      const missing = peerMissing(peer);
      if (missing) throw new Error(missing);
      target = await spawnPeer(peer);
    }, 30_000);
    afterAll(async () => {
      await target?.stop();
    });

    test('fails exactly the listed checks and passes the others', async () => {
      expect(await gate(target, mode, manifest)).toEqual([]);
    }, 60_000);
  });

  describe('the reference server', () => {
    let target: RunningTarget;
    beforeAll(async () => {
      target = await startReference({ mode });
    });
    afterAll(async () => {
      await target?.stop();
    });

    test('fails exactly the listed checks and passes the others', async () => {
      expect(await gate(target, mode, manifest)).toEqual([]);
    }, 60_000);
  });
});
