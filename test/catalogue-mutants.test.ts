import { afterEach, describe, expect, test } from 'vitest';
import { catalogue } from '../conformance/catalogue/index.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { CHECK_TIMEOUT_MS, startReference, startTinyServer, summary, verdicts } from './support/catalogue-targets.ts';
import { MUTANTS, type Mutant } from './support/mutants.ts';
import { SPEC_IDS } from './support/spec-rows.ts';

/** A check may use its whole time limit, and the harness runs a liveness request before and after it. */
const TEST_TIMEOUT_MS = CHECK_TIMEOUT_MS * 3;

const started: RunningTarget[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((target) => target.stop()));
});

async function start(mutant: Mutant, which: 'reference' | 'variant'): Promise<RunningTarget> {
  const { variant, mode, logFormat } = mutant;
  const target =
    which === 'variant' && 'tiny' in variant
      ? await startTinyServer(mutant.change, variant.tiny)
      : await startReference({ mode, ...(logFormat && { logFormat }), ...(which === 'variant' && !('tiny' in variant) ? variant : {}) });
  started.push(target);
  return target;
}

async function verdictOf(mutant: Mutant, which: 'reference' | 'variant'): Promise<{ verdict: string; actual: string }> {
  const requirement = catalogue.find((r) => r.id === mutant.id)!;
  const records = await verdicts([requirement], await start(mutant, which), mutant.mode);
  return summary(records.get(mutant.id));
}

test('every SPEC ID has a server that makes it fail or pass against the reference', () => {
  expect([...SPEC_IDS].filter((id) => !MUTANTS.some((mutant) => mutant.id === id))).toEqual([]);
});

describe.each(MUTANTS.map((mutant) => [mutant.id, mutant.role, mutant.change, mutant] as const))('%s against a server that %s it: %s', (id, role, _change, mutant) => {
  const [onReference, onVariant] = role === 'breaks' ? ['pass', 'fail'] : ['fail', 'pass'];

  test(`${onReference}s against the reference`, async () => {
    const seen = await verdictOf(mutant, 'reference');
    expect(seen.verdict, seen.actual).toBe(onReference);
  }, TEST_TIMEOUT_MS);

  test(`${onVariant}s against the variant`, async () => {
    const seen = await verdictOf(mutant, 'variant');
    expect(seen.verdict, `${id}: ${seen.actual}`).toBe(onVariant);
  }, TEST_TIMEOUT_MS);
});
