/** The sharding examples stay runnable: every shard of the campaign is covered once, with flags h1spec accepts. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { registerFuzz } from '../conformance/commands/fuzz.ts';
import { registerReport } from '../conformance/commands/report.ts';

const ROOT = new URL('..', import.meta.url);
/** Read loosely: the assertions themselves say what shape the documents must have. */
type Document = any;
const read = async (path: string): Promise<Document> => parse(await readFile(new URL(path, ROOT), 'utf8'));

function acceptedFlags(register: (program: Command) => void, name: string): string[] {
  const program = new Command();
  register(program);
  const command = program.commands.find((c) => c.name() === name)!;
  return command.options.map((option) => option.long!);
}

const flagsIn = (text: string): string[] => [...text.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!);

describe('examples/fuzz-github-actions.yml', () => {
  test('a matrix of every shard 1..SHARDS of one seed, then a merge of them all', async () => {
    const workflow = await read('examples/fuzz-github-actions.yml');
    const shards = Number(workflow.env.SHARDS);
    const job = workflow.jobs.shard;
    expect(job.strategy.matrix.shard).toEqual(Array.from({ length: shards }, (_, i) => i + 1));
    const fuzz = (job.steps as Array<{ run?: string }>).find((step) => step.run?.includes('h1spec fuzz'))!.run!;
    expect(fuzz).toContain('--shard ${{ matrix.shard }}/${{ env.SHARDS }}');
    expect(fuzz).toContain('--seed ${{ needs.plan.outputs.seed }}');
    expect(flagsIn(fuzz).every((flag) => acceptedFlags(registerFuzz, 'fuzz').includes(flag))).toBe(true);
    const merge = (workflow.jobs.merge.steps as Array<{ run?: string }>).find((step) => step.run?.includes('report merge'))!.run!;
    expect(merge).toContain('fuzz-shard-*');
  });
});

describe('examples/fuzz-k8s-indexed-job.yaml', () => {
  test('an Indexed Job with one completion per shard, its index picking the shard, and a merge of the same seed', async () => {
    const documents: Document[] = (await readFile(new URL('examples/fuzz-k8s-indexed-job.yaml', ROOT), 'utf8')).split(/^---$/m).map((text): Document => parse(text));
    const job = documents.find((d) => d.kind === 'Job');
    const container = job.spec.template.spec.containers[0];
    const env = Object.fromEntries((container.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    expect(job.spec.completionMode).toBe('Indexed');
    expect(job.spec.completions).toBe(Number(env.SHARDS));
    const args = container.args.join(' ');
    expect(args).toContain('--shard "$((JOB_COMPLETION_INDEX + 1))/$SHARDS"');
    expect(flagsIn(args).every((flag) => acceptedFlags(registerFuzz, 'fuzz').includes(flag))).toBe(true);
    const merge = documents.find((d) => d.kind === 'CronJob').spec.jobTemplate.spec.template.spec.containers[0];
    expect(merge.env[0].value).toBe(env.SEED);
    expect(merge.args.join(' ')).toContain('report merge /results/$SEED/shard-*');
    expect(acceptedFlags(registerReport, 'report')).toEqual([]);
  });
});
