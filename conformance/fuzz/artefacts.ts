/**
 * What a campaign leaves in its --out folder:
 *   manifest.json   target, versions, seed, shard, budget, counts, status (written at the start and again at the end)
 *   events.jsonl    one JSON event a line: start, progress, failure, error, finding, death, end
 *   fuzz.tap        TAP 14, one test point per property, its findings in the YAML block
 *   findings.json   every distinct finding in full, by case index
 *   findings/       one fixture per finding (fixtures.ts), replayable and loadable as a regression corpus
 *
 * fuzz.tap holds only what depends on the seed and the cases run (no timings, no folder names), so the TAP of the
 * shards of a campaign merged (`h1spec report merge`) equals the TAP of the same campaign run unsharded.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Parser } from 'tap-parser';
import { stringify } from 'yaml';
import type { Profile } from '../catalogue/types.ts';
import { writeFileAtomic } from '../reporters/files.ts';
import { escapeBytes } from '../wire/escape.ts';
import type { CampaignSummary } from './campaign.ts';
import { caseBytes } from './cases.ts';
import type { Fixture } from './fixtures.ts';

export const FILES = {
  manifest: 'manifest.json',
  events: 'events.jsonl',
  tap: 'fuzz.tap',
  findings: 'findings.json',
  fixtures: 'findings',
} as const;

/** Enough of a request in TAP to see it; findings.json and the fixture keep it whole. */
const TAP_REQUEST_MAX_BYTES = 2048;

export interface FindingBrief {
  key: string;
  id: string;
  index: number;
  seed: number;
  path: string;
  request: string;
  expected: string;
  seen: string;
  regenerate: string;
}

export interface PropertyReport {
  name: string;
  title: string;
  ids: string[];
  runs: number;
  failed: number;
  errors: number;
  findings: FindingBrief[];
}

export interface CampaignReport {
  seed: number;
  profile: Profile;
  /** The campaign's budget in words: `2000 runs`, or a time. */
  budget: string;
  properties: PropertyReport[];
}

export function briefOf(fixture: Fixture): FindingBrief {
  return {
    key: fixture.key,
    id: fixture.id,
    index: fixture.index,
    seed: fixture.seed,
    path: fixture.path,
    request: escapeBytes(caseBytes(fixture.case), TAP_REQUEST_MAX_BYTES),
    expected: fixture.expected,
    seen: fixture.seen,
    regenerate: fixture.regenerate,
  };
}

export function campaignReport(summary: CampaignSummary, context: { seed: number; profile: Profile; budget: string; fixtures: readonly Fixture[] }): CampaignReport {
  return {
    seed: context.seed,
    profile: context.profile,
    budget: context.budget,
    properties: summary.properties.map(({ property, tally }) => ({
      name: property.name,
      title: property.title,
      ids: property.ids,
      ...tally,
      findings: context.fixtures.filter((f) => f.property === property.name).map(briefOf),
    })),
  };
}

/** TAP descriptions end at `#`; a backslash escapes. */
function escapeDescription(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

export function renderCampaignTap(report: CampaignReport): string {
  const lines = ['TAP version 14', `1..${report.properties.length}`, `# h1spec fuzz: seed ${report.seed}, profile ${report.profile}, budget ${report.budget}`];
  report.properties.forEach((property, index) => {
    const ok = property.findings.length === 0;
    lines.push(`${ok ? 'ok' : 'not ok'} ${index + 1} - ${escapeDescription(`${property.name}: ${property.title}`)}`);
    const block = { ids: property.ids, runs: property.runs, failed: property.failed, errors: property.errors, findings: property.findings };
    const yaml = stringify(block, { lineWidth: 0, minContentWidth: 0 });
    lines.push('  ---', ...yaml.trimEnd().split('\n').map((line) => `  ${line}`), '  ...');
  });
  return lines.join('\n') + '\n';
}

export class ReportError extends Error {
  override name = 'ReportError';
}

/** Reads a fuzz.tap back (with tap-parser): the report it was rendered from. */
export function parseCampaignTap(text: string, source: string): CampaignReport {
  const events = Parser.parse(text) as Array<[string, ...unknown[]]>;
  const header = events.find(([kind, body]) => kind === 'comment' && typeof body === 'string' && body.startsWith('# h1spec fuzz:'));
  const match = /seed (-?\d+), profile (\w+), budget (.+)$/.exec(String(header?.[1] ?? '').trim());
  if (!match) throw new ReportError(`${source}: not a fuzz campaign's TAP (no "# h1spec fuzz:" header)`);
  const properties: PropertyReport[] = [];
  for (const [kind, body] of events) {
    if (kind !== 'assert') continue;
    const point = body as { name: string; diag: Partial<PropertyReport> | null };
    const colon = point.name.indexOf(': ');
    const diag = point.diag ?? {};
    if (colon < 0 || typeof diag.runs !== 'number') throw new ReportError(`${source}: test point "${point.name}" is not a fuzz property's`);
    properties.push({
      name: point.name.slice(0, colon),
      title: point.name.slice(colon + 2),
      ids: diag.ids ?? [],
      runs: diag.runs,
      failed: diag.failed ?? 0,
      errors: diag.errors ?? 0,
      findings: diag.findings ?? [],
    });
  }
  return { seed: Number(match[1]), profile: match[2] as Profile, budget: match[3]!, properties };
}

/** Shards of one campaign as one report: counts added up, findings de-duplicated by key (the lowest case index kept). */
export function mergeReports(reports: readonly CampaignReport[]): CampaignReport {
  const first = reports[0];
  if (!first) throw new ReportError('nothing to merge');
  for (const other of reports) {
    if (other.seed !== first.seed || other.profile !== first.profile || other.budget !== first.budget) {
      throw new ReportError(`the shards are not of one campaign: seed ${other.seed}, profile ${other.profile}, budget ${other.budget} beside seed ${first.seed}, profile ${first.profile}, budget ${first.budget}`);
    }
  }
  const byName = new Map<string, PropertyReport>();
  for (const report of reports) {
    for (const property of report.properties) {
      const merged = byName.get(property.name) ?? { ...property, runs: 0, failed: 0, errors: 0, findings: [] };
      merged.runs += property.runs;
      merged.failed += property.failed;
      merged.errors += property.errors;
      merged.findings = mergeByKey([...merged.findings, ...property.findings]);
      byName.set(property.name, merged);
    }
  }
  // Properties keep the order of the property table, which every shard lists the same.
  return { ...first, properties: [...byName.values()] };
}

/** Distinct by key, the lowest case index winning, sorted by case index. */
export function mergeByKey<T extends { key: string; index: number }>(items: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const known = byKey.get(item.key);
    if (!known || item.index < known.index) byKey.set(item.key, item);
  }
  return [...byKey.values()].sort((a, b) => a.index - b.index || a.key.localeCompare(b.key));
}

export function fixturesPath(out: string): string {
  return join(out, FILES.fixtures);
}

export async function writeCampaignFiles(out: string, report: CampaignReport, fixtures: readonly Fixture[]): Promise<void> {
  await writeFileAtomic(join(out, FILES.tap), renderCampaignTap(report));
  await writeFileAtomic(join(out, FILES.findings), JSON.stringify(mergeByKey(fixtures), null, 2) + '\n');
}

export async function writeManifest(out: string, manifest: object): Promise<void> {
  await writeFileAtomic(join(out, FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
}

/** events.jsonl: each event one whole line, appended in order; `close` waits until all are on disk. */
export class EventLog {
  private constructor(private readonly stream: WriteStream) {}

  static async open(out: string): Promise<EventLog> {
    await mkdir(out, { recursive: true });
    const stream = createWriteStream(join(out, FILES.events), { flags: 'w' });
    await once(stream, 'open');
    return new EventLog(stream);
  }

  write(event: object): void {
    this.stream.write(JSON.stringify({ at: new Date().toISOString(), ...event }) + '\n');
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
  }
}
