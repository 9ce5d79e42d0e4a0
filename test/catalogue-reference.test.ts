import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { catalogue } from '../conformance/catalogue/index.ts';
import type { ServerMode } from '../conformance/catalogue/types.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import type { LogFormat } from '../reference/server-log.ts';
import { startReference, summary, verdicts } from './support/catalogue-targets.ts';
import { runserverVerdict, SPEC_IDS, SPEC_ROWS } from './support/spec-rows.ts';

const seed = catalogue.filter((requirement) => SPEC_IDS.has(requirement.id));

describe('the catalogue holds every SPEC row', () => {
  test.each(SPEC_ROWS)('$id: exactly one entry, with the profiles and level of SPEC', (row) => {
    const entries = catalogue.filter((requirement) => requirement.id === row.id);
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect({ profiles: entry!.profiles, level: entry!.level }).toEqual({ profiles: row.profiles, level: row.level });
    expect(entry!.source.length).toBeGreaterThan(10);
    expect(entry!.title.length).toBeGreaterThan(10);
  });

  test('no ID appears twice in the catalogue', () => {
    const ids = catalogue.map((requirement) => requirement.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });
});

const runs: ReadonlyArray<readonly [ServerMode, LogFormat]> = [
  ['threaded', 'django'],
  ['serial', 'django'],
  ['threaded', 'json'],
  ['serial', 'json'],
];

describe.each(runs)('every SPEC row against the reference server (%s, %s log)', (mode, logFormat) => {
  let target: RunningTarget;
  beforeAll(async () => {
    target = await startReference({ mode, logFormat });
  });
  afterAll(async () => {
    await target.stop();
  });

  test('django rows pass, RFC-only rows fail, rows of the other mode skip', async () => {
    const records = await verdicts(seed, target, mode);
    const seen = Object.fromEntries(SPEC_ROWS.map((row) => [row.id, summary(records.get(row.id)).verdict]));
    const wanted = Object.fromEntries(
      SPEC_ROWS.map((row) => [row.id, runserverVerdict(row, seed.find((r) => r.id === row.id)?.needs.mode, mode, logFormat === 'json')]),
    );
    const explained = SPEC_ROWS.filter((row) => seen[row.id] !== wanted[row.id]).map((row) => `${row.id}: ${summary(records.get(row.id)).actual}`);
    expect(seen, explained.join('\n')).toEqual(wanted);
    // Every check gave its evidence: the bytes of at least one connection, for a pass and for a fail alike.
    for (const record of records.values()) {
      if (record.verdict === 'pass' || record.verdict === 'fail') expect(record.evidence.length, record.id).toBeGreaterThan(0);
    }
  });
});
