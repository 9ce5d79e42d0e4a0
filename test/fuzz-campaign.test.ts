/**
 * Fuzz campaigns over raw TCP: nothing found against the reference; against servers broken on purpose the right
 * property fails and the shrunk request is the smallest one; findings replay; shards merge into the unsharded run;
 * the corpus re-checks; differential mode finds the difference.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { corpusRequirements } from '../conformance/catalogue/corpus.ts';
import { campaignReport, mergeReports, parseCampaignTap, renderCampaignTap } from '../conformance/fuzz/artefacts.ts';
import type { CampaignSummary } from '../conformance/fuzz/campaign.ts';
import { caseBytes } from '../conformance/fuzz/cases.ts';
import { differentialProperties } from '../conformance/fuzz/diff.ts';
import { Lane } from '../conformance/fuzz/drive.ts';
import { recheck, runCase, type Finding } from '../conformance/fuzz/engine.ts';
import { loadFixture, toFixture, writeFixture, type Fixture } from '../conformance/fuzz/fixtures.ts';
import { prepareSetup, propertyNamed } from '../conformance/fuzz/properties.ts';
import { startEmbeddedReference } from '../conformance/targets/embedded.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { startBrokenServer, type Breakage } from './support/fuzz-broken-servers.ts';
import { campaign } from './support/fuzz-campaigns.ts';

const TIMEOUT_MS = 10_000;
let reference: RunningTarget;
let serialReference: RunningTarget;
const broken = new Map<Breakage, RunningTarget>();
let scratch: string;

beforeAll(async () => {
  reference = await startEmbeddedReference({ mode: 'threaded' });
  serialReference = await startEmbeddedReference({ mode: 'serial' });
  for (const breakage of ['strips-nothing', 'drops-pipelined', 'off-by-one-request-line'] as const) broken.set(breakage, await startBrokenServer(breakage));
  scratch = await mkdtemp(join(tmpdir(), 'h1spec-fuzz-'));
});

afterAll(async () => {
  await Promise.all([reference, serialReference, ...broken.values()].map((t) => t?.stop()));
  await rm(scratch, { recursive: true, force: true });
});

const facts = (target: RunningTarget) => ({ endpoint: target.endpoint, mode: 'threaded' as const, probe: true });
const findingWith = (summary: CampaignSummary, id: string): Finding | undefined => summary.findings.find((f) => f.id === id);

describe('against the reference', () => {
  test('a campaign of a few thousand runs finds nothing, and nothing is inconclusive', async () => {
    const summary = await campaign(reference, { runs: 2500, seed: 20261124 });
    expect(summary.findings.map((f) => `${f.id}: ${f.seen}`)).toEqual([]);
    expect(summary.stats).toMatchObject({ runs: 2500, failed: 0, errors: 0 });
    expect(summary.status).toBe('finished');
    // Every property had its share.
    expect(summary.properties.every(({ tally }) => tally.runs > 50)).toBe(true);
    expect(summary.stats.exchanges).toBeGreaterThan(summary.stats.runs);
  }, 120_000);

  test('a serial (--nothreading) reference: every property holds too', async () => {
    const summary = await campaign(serialReference, { runs: 400, seed: 7, mode: 'serial' });
    expect(summary.findings.map((f) => `${f.id}: ${f.seen}`)).toEqual([]);
    expect(summary.stats.errors).toBe(0);
  }, 120_000);
});

describe('against servers broken on purpose, the right property fails with the smallest request', () => {
  const cases: Array<{ breakage: Breakage; property: string; runs: number; timeoutMs?: number; id: string; minimal: string }> = [
    // One request line and one underscore header, with an empty value: 23 bytes.
    { breakage: 'strips-nothing', property: 'environ', runs: 12, id: 'HDR-UNDERSCORE-STRIP', minimal: 'GET / HTTP/1.1\r\n_: \r\n\r\n' },
    // One request; the harness's sentinel pipelined behind it is the request the server drops.
    // Its pipelines that should end in a close only end when their time is up: a short one keeps the test short.
    { breakage: 'drops-pipelined', property: 'keep-alive', runs: 12, timeoutMs: 1000, id: 'KA-PIPELINE', minimal: 'GET / HTTP/1.1\r\n\r\n' },
    // A request line of exactly 65536 bytes with its CRLF, then the blank line: 65538 bytes. Only one limit case in
    // eighteen sits there, so more runs.
    { breakage: 'off-by-one-request-line', property: 'limits', runs: 60, id: 'URI-LIMIT-EXACT', minimal: `GET /${'a'.repeat(65536 - 'GET / HTTP/1.1\r\n'.length)} HTTP/1.1\r\n\r\n` },
  ];
  for (const { breakage, property, runs, timeoutMs, id, minimal } of cases) {
    test(`${breakage}: ${property} fails ${id}, shrunk to ${minimal.length} bytes`, async () => {
      const summary = await campaign(broken.get(breakage)!, { runs, seed: 11, properties: [property], concurrency: 4, timeoutMs });
      const finding = findingWith(summary, id);
      expect(finding, summary.findings.map((f) => f.id).join(', ')).toBeDefined();
      const bytes = caseBytes(finding!.case);
      expect(bytes.length).toBe(minimal.length);
      expect(bytes.toString('latin1')).toBe(minimal);
      expect(finding!.case.splits).toEqual([]);
    }, 120_000);
  }
});

describe('replay', () => {
  let finding: Finding;
  let file: string;

  beforeAll(async () => {
    const summary = await campaign(broken.get('strips-nothing')!, { runs: 3, seed: 5, properties: ['environ'] });
    finding = findingWith(summary, 'HDR-UNDERSCORE-STRIP')!;
    const fixture = toFixture(finding, { command: 'fuzz', target: 'strips-nothing', targetFlags: ['--target', '127.0.0.1:1'], file: 'x' });
    file = await writeFixture(scratch, fixture);
  }, 60_000);

  test('a saved finding replays: it still fails against the broken server, and passes against the reference', async () => {
    const fixture = await loadFixture(file);
    expect(fixture.replay).toContain(`--replay ${file}`);
    expect(Buffer.from(fixture.request.base64, 'base64')).toEqual(caseBytes(finding.case));
    const property = propertyNamed(fixture.property)!;
    const lane = new Lane(broken.get('strips-nothing')!.endpoint, TIMEOUT_MS);
    const again = await recheck(property, fixture.case, { facts: facts(broken.get('strips-nothing')!), profile: 'django', lane, timeoutMs: TIMEOUT_MS });
    lane.close();
    expect(again.verdict).toMatchObject({ kind: 'fail', mismatch: { id: 'HDR-UNDERSCORE-STRIP' } });
    const referenceLane = new Lane(reference.endpoint, TIMEOUT_MS);
    const fixed = await recheck(property, fixture.case, { facts: facts(reference), profile: 'django', lane: referenceLane, timeoutMs: TIMEOUT_MS });
    referenceLane.close();
    expect(fixed.verdict).toEqual({ kind: 'pass' });
  });

  test('its seed and path regenerate a case that fails the same way', async () => {
    const property = propertyNamed('environ')!;
    const lane = new Lane(broken.get('strips-nothing')!.endpoint, TIMEOUT_MS);
    const setup = await prepareSetup([property]);
    const result = await runCase(property, 0, finding.seed, { facts: facts(broken.get('strips-nothing')!), profile: 'django', setup, lane, timeoutMs: TIMEOUT_MS }, finding.path);
    lane.close();
    expect(result.outcome).toBe('fail');
    expect(result.outcome === 'fail' && result.finding.id).toBe('HDR-UNDERSCORE-STRIP');
  });

  test('the corpus loader makes it a catalogue entry that fails against the broken server and passes against the reference', async () => {
    const [requirement, ...others] = corpusRequirements(scratch);
    expect(others).toEqual([]);
    expect(requirement!.id).toMatch(/^FUZZ-HDR-UNDERSCORE-STRIP-[0-9a-f]{8}$/);
    expect(requirement!.profiles).toEqual(['django']);
    const context = (target: RunningTarget) => ({ endpoint: target.endpoint, timeoutMs: TIMEOUT_MS, mode: 'threaded' as const, probe: true, log: null });
    expect((await requirement!.check(context(broken.get('strips-nothing')!))).verdict).toBe('fail');
    expect((await requirement!.check(context(reference))).verdict).toBe('pass');
  });
});

describe('shards', () => {
  test('two shards merged (their TAP read back with tap-parser) equal one unsharded run of the same seed', async () => {
    const target = broken.get('strips-nothing')!;
    const options = { runs: 16, seed: 31, properties: ['environ', 'request-line'] };
    const reportOf = (summary: CampaignSummary) => {
      const fixtures: Fixture[] = summary.findings.map((f) => toFixture(f, { command: 'fuzz', target: 'x', targetFlags: [], file: 'x' }));
      return campaignReport(summary, { seed: options.seed, profile: 'django', budget: `${options.runs} runs`, fixtures });
    };
    const whole = reportOf(await campaign(target, options));
    const shards = [];
    for (const index of [1, 2]) shards.push(reportOf(await campaign(target, { ...options, shard: { index, count: 2 } })));
    const merged = mergeReports(shards.map((report, i) => parseCampaignTap(renderCampaignTap(report), `shard ${i + 1}`)));
    expect(renderCampaignTap(merged)).toBe(renderCampaignTap(whole));
    expect(whole.properties.find((p) => p.name === 'environ')!.findings.length).toBeGreaterThan(0);
    expect(whole.properties.reduce((sum, p) => sum + p.runs, 0)).toBe(options.runs);
  }, 120_000);
});

describe('differential mode', () => {
  test('against the reference, the server that strips nothing differs in the environ, shrunk to one underscore header', async () => {
    const target = broken.get('strips-nothing')!;
    const other = { name: 'reference', lane: new Lane(reference.endpoint, TIMEOUT_MS) };
    const properties = differentialProperties('django', ['environ'], 'strips-nothing', other);
    const summary = await campaign(target, { runs: 6, seed: 3, propertyList: properties, concurrency: 2 });
    other.lane.close();
    const finding = summary.findings.find((f) => f.id.startsWith('DIFF:'));
    expect(finding?.id).toMatch(/^DIFF:(environ-keys|HTTP__)$/);
    expect(caseBytes(finding!.case).toString('latin1')).toBe('GET / HTTP/1.1\r\n_: \r\n\r\n');
  }, 120_000);

  test('the reference against itself: no difference', async () => {
    const other = { name: 'reference again', lane: new Lane(reference.endpoint, TIMEOUT_MS) };
    const summary = await campaign(reference, { runs: 200, seed: 4, propertyList: differentialProperties('django', [], 'reference', other) });
    other.lane.close();
    expect(summary.findings.map((f) => `${f.id}: ${f.seen}`)).toEqual([]);
  }, 120_000);
});
