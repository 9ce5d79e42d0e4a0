import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { catalogue } from '../conformance/catalogue/index.ts';
import { peerMissing, peerNamed, spawnPeer, type PeerRecipe } from '../conformance/targets/peers.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { summary, verdicts } from './support/catalogue-targets.ts';
import { runserverVerdict, SPEC_IDS, SPEC_ROWS } from './support/spec-rows.ts';

const seed = catalogue.filter((requirement) => SPEC_IDS.has(requirement.id));

/** Real Django 3.2.25 runserver (Debian's python3-django) serving the Python probe: the judge of the django profile. */
describe.each(['django', 'django-nothreading'])('every SPEC row against real Django 3.2 (%s)', (name) => {
  const peer = peerNamed(name) as PeerRecipe;
  let target: RunningTarget;
  beforeAll(async () => {
    const missing = peerMissing(peer);
    if (missing) throw new Error(missing);
    target = await spawnPeer(peer);
  }, 30_000);
  afterAll(async () => {
    await target?.stop();
  });

  test('django rows pass, RFC-only rows fail, rows of the other mode skip; LOG-LEVELS skips (Django logs no levels)', async () => {
    const records = await verdicts(seed, target, peer.mode);
    const seen = Object.fromEntries(SPEC_ROWS.map((row) => [row.id, summary(records.get(row.id)).verdict]));
    const wanted = Object.fromEntries(
      SPEC_ROWS.map((row) => [row.id, runserverVerdict(row, seed.find((r) => r.id === row.id)?.needs.mode, peer.mode, false)]),
    );
    const explained = SPEC_ROWS.filter((row) => seen[row.id] !== wanted[row.id]).map((row) => `${row.id}: ${summary(records.get(row.id)).actual}`);
    expect(seen, explained.join('\n')).toEqual(wanted);
  }, 120_000);
});
