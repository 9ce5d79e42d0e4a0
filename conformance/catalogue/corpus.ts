/**
 * The regression corpus: every fuzz finding saved in conformance/corpus/ (by `h1spec fuzz --corpus conformance/corpus`,
 * or copied from a campaign's findings/ folder) becomes a catalogue entry, so `h1spec run` re-checks its exact bytes
 * from then on, judged as the property that found it judges them. An entry's ID is `FUZZ-<requirement>-<digest>`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lane } from '../fuzz/drive.ts';
import { recheck } from '../fuzz/engine.ts';
import { FixtureError, parseFixture, type Fixture } from '../fuzz/fixtures.ts';
import { propertyNamed } from '../fuzz/properties.ts';
import { escapeBytes } from '../wire/escape.ts';
import type { CheckContext, CheckResult, Requirement } from './types.ts';

export const CORPUS_DIR = fileURLToPath(new URL('../corpus/', import.meta.url));
const TITLE_REQUEST_MAX_BYTES = 72;

function requirementId(fixture: Fixture): string {
  const digest = fixture.key.slice(fixture.key.lastIndexOf('.') + 1, fixture.key.lastIndexOf('.') + 9);
  return `FUZZ-${fixture.id.replace(/[^A-Za-z0-9-]+/g, '-')}-${digest}`;
}

function fixtureRequirement(fixture: Fixture, file: string): Requirement {
  const property = propertyNamed(fixture.property)!;
  const request = Buffer.from(fixture.request.base64, 'base64');
  return {
    id: requirementId(fixture),
    title: `fuzz finding (${fixture.property}, ${fixture.id}): ${escapeBytes(request, TITLE_REQUEST_MAX_BYTES)}`,
    profiles: [fixture.profile],
    level: 'MUST',
    source: `${file}: found by h1spec ${fixture.command} (seed ${fixture.seed}, path ${fixture.path}) against ${fixture.foundAgainst}`,
    needs: { probe: property.probeFor.includes(fixture.profile) },
    async check(ctx: CheckContext): Promise<CheckResult> {
      const lane = new Lane(ctx.endpoint, ctx.timeoutMs);
      try {
        const facts = { endpoint: ctx.endpoint, mode: ctx.mode, probe: ctx.probe };
        const outcome = await recheck(property, fixture.case, { facts, profile: fixture.profile, lane, timeoutMs: ctx.timeoutMs });
        const expected = `the answer property ${fixture.property} requires for these bytes (once: ${fixture.expected})`;
        const { verdict } = outcome;
        const actual =
          verdict.kind === 'pass' ? 'as required' : verdict.kind === 'fail' ? `${verdict.mismatch.id}: expected ${verdict.mismatch.expected}; saw ${verdict.mismatch.seen}` : verdict.reason;
        return { verdict: verdict.kind, expected, actual, evidence: outcome.evidence };
      } finally {
        lane.close();
      }
    },
  };
}

/** A file that is not a fixture still shows in every run, as an error naming the problem, rather than vanishing. */
function brokenFixture(file: string, problem: string): Requirement {
  return {
    id: `FUZZ-UNREADABLE-${file.replace(/\.json$/, '').replace(/[^A-Za-z0-9-]+/g, '-')}`,
    title: `an unreadable fuzz corpus file: ${file}`,
    profiles: ['django', 'wsgi', 'rfc'],
    level: 'MUST',
    source: file,
    needs: {},
    check: async () => ({ verdict: 'error', expected: 'a fuzz finding fixture', actual: problem, evidence: [] }),
  };
}

/** The corpus of `folder` (conformance/corpus/ by default) as catalogue entries, by file name; none when there is no folder. */
export function corpusRequirements(folder: string = CORPUS_DIR): Requirement[] {
  let files: string[];
  try {
    files = readdirSync(folder).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const shown = folder === CORPUS_DIR ? 'conformance/corpus' : folder;
  return files.map((name) => {
    const file = join(shown, name);
    try {
      return fixtureRequirement(parseFixture(readFileSync(join(folder, name), 'utf8'), file), file);
    } catch (err) {
      if (err instanceof FixtureError) return brokenFixture(name, err.message);
      throw err;
    }
  });
}
