/**
 * Real Django 3.2 runserver under the probe (the peers' recipes), threaded and --nothreading: the django-profile
 * properties hold for it as they do for the reference, and the reference shows no difference from it. Skipped, loudly,
 * where Debian's Django is not installed (scripts/install-peers.sh installs it).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { differentialProperties } from '../conformance/fuzz/diff.ts';
import { Lane } from '../conformance/fuzz/drive.ts';
import { startEmbeddedReference } from '../conformance/targets/embedded.ts';
import { peerMissing, peerNamed, spawnPeer } from '../conformance/targets/peers.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { campaign } from './support/fuzz-campaigns.ts';

const django = peerNamed('django')!;
const serialDjango = peerNamed('django-nothreading')!;
const missing = peerMissing(django);
if (missing) console.warn(`SKIPPED real-Django fuzzing: ${missing}`);

describe.skipIf(missing !== null)('fuzzing real Django 3.2', () => {
  const targets: RunningTarget[] = [];
  let threaded: RunningTarget;
  let serial: RunningTarget;

  beforeAll(async () => {
    threaded = await spawnPeer(django);
    serial = await spawnPeer(serialDjango);
    targets.push(threaded, serial);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(targets.map((t) => t.stop()));
  });

  test('threaded: a campaign of every django-profile property finds nothing', async () => {
    const summary = await campaign(threaded, { runs: 1500, seed: 3 });
    expect(summary.findings.map((f) => `${f.id} (${f.property}): ${f.seen}`)).toEqual([]);
    expect(summary.stats.runs).toBe(1500);
  }, 120_000);

  test('--nothreading: every property holds too (one connection at a time)', async () => {
    const summary = await campaign(serial, { runs: 300, seed: 5, mode: 'serial' });
    expect(summary.findings.map((f) => `${f.id} (${f.property}): ${f.seen}`)).toEqual([]);
  }, 120_000);

  test('the reference differs from it in nothing observable', async () => {
    const reference = await startEmbeddedReference({ mode: 'threaded' });
    targets.push(reference);
    const other = { name: 'reference', lane: new Lane(reference.endpoint, 10_000) };
    const summary = await campaign(threaded, { runs: 600, seed: 9, propertyList: differentialProperties('django', [], 'Django', other) });
    other.lane.close();
    expect(summary.findings.map((f) => `${f.id} (${f.property}): ${f.expected} / ${f.seen}`)).toEqual([]);
  }, 120_000);
});
