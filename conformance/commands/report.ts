import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT } from '../cli-error.ts';
import { FILES, fixturesPath, mergeByKey, mergeReports, parseCampaignTap, ReportError, writeCampaignFiles, writeManifest, type CampaignReport } from '../fuzz/artefacts.ts';
import { FixtureError, parseFixture, writeFixture, type Fixture } from '../fuzz/fixtures.ts';
import { TOOL } from '../runner.ts';
import { escapeBytes } from '../wire/escape.ts';
import { finish } from './fuzz.ts';
import { reportedAs } from './target-options.ts';

const DEFAULT_MERGED_OUT = 'reports/fuzz-merged';

const HELP_AFTER = `
Each DIR is the --out folder of one shard (h1spec fuzz --shard I/N, or h1spec diff). Their fuzz.tap files are read
with tap-parser and joined (runs, failures and inconclusive cases added up per property), their findings
de-duplicated by property, requirement and shrunk bytes; the shards must be of one campaign (same seed, profile and
budget). The merged folder holds fuzz.tap, findings.json, findings/ and a manifest listing the shards: for the shards
of one --seed and --runs, the same fuzz.tap and findings as one unsharded run.

Exit status: 0 no findings; 1 findings, or a shard's target died; 2 a folder is missing or not a campaign's.
`;

interface ShardOutput {
  folder: string;
  report: CampaignReport;
  fixtures: Fixture[];
  manifest: Record<string, unknown>;
}

async function readText(folder: string, file: string): Promise<string> {
  try {
    return await readFile(join(folder, file), 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${join(folder, file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function readShard(folder: string): Promise<ShardOutput> {
  const report = parseCampaignTap(await readText(folder, FILES.tap), join(folder, FILES.tap));
  const findingsSource = join(folder, FILES.findings);
  let entries: unknown;
  try {
    entries = JSON.parse(await readText(folder, FILES.findings));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${findingsSource}: not JSON`);
  }
  if (!Array.isArray(entries)) throw new CliError(`${findingsSource}: not a list of findings`);
  const fixtures = entries.map((entry, i) => parseFixture(JSON.stringify(entry), `${findingsSource} [${i}]`));
  const manifest = JSON.parse(await readText(folder, FILES.manifest)) as Record<string, unknown>;
  return { folder, report, fixtures, manifest };
}

export function registerReport(program: Command): void {
  const report = program.command('report').description('work with the reports h1spec writes');
  report
    .command('merge')
    .description("join the outputs of a campaign's shards into one report")
    .argument('<dirs...>', "the shards' --out folders")
    .option('--out <dir>', 'folder for the merged report', DEFAULT_MERGED_OUT)
    .addHelpText('after', HELP_AFTER)
    .action((folders: string[], flags: { out: string }) => mergeCommand(folders, flags.out));
}

async function mergeCommand(folders: string[], out: string): Promise<void> {
  const shards = await reportedAs([ReportError, FixtureError], () => Promise.all(folders.map(readShard)));
  const merged = await reportedAs([ReportError], () => mergeReports(shards.map((s) => s.report)));
  const fixtures = mergeByKey(shards.flatMap((s) => s.fixtures));
  await writeCampaignFiles(out, merged, fixtures);
  await Promise.all(fixtures.map((fixture) => writeFixture(fixturesPath(out), fixture)));
  const died = shards.filter((s) => s.manifest['status'] === 'target-died');
  const counts = ['runs', 'passed', 'failed', 'errors', 'exchanges'].map((key) => [key, shards.reduce((sum, s) => sum + Number((s.manifest['counts'] as Record<string, number> | undefined)?.[key] ?? 0), 0)]);
  await writeManifest(out, {
    tool: TOOL,
    command: 'report merge',
    seed: merged.seed,
    profile: merged.profile,
    budget: merged.budget,
    counts: { ...Object.fromEntries(counts), findings: fixtures.length },
    shards: shards.map((s) => ({ folder: s.folder, shard: s.manifest['shard'], status: s.manifest['status'], target: s.manifest['target'] })),
    files: FILES,
  });
  const lines = [`h1spec report merge: ${shards.length} shard${shards.length === 1 ? '' : 's'} of seed ${merged.seed} (${merged.budget}): ${merged.properties.reduce((sum, p) => sum + p.runs, 0)} cases, ${fixtures.length === 0 ? 'no findings' : `${fixtures.length} finding${fixtures.length === 1 ? '' : 's'}`}`];
  for (const shard of died) lines.push(`  the target died in ${shard.folder}`);
  for (const fixture of fixtures) lines.push(`  ${fixture.id} (${fixture.property}): ${escapeBytes(Buffer.from(fixture.request.base64, 'base64'), 200)}`);
  lines.push(`  report: ${out} (${FILES.manifest}, ${FILES.tap}, ${FILES.findings}, ${FILES.fixtures}/)`);
  process.stderr.write(lines.join('\n') + '\n');
  await finish('', fixtures.length > 0 || died.length > 0 ? EXIT.failed : EXIT.passed);
}
