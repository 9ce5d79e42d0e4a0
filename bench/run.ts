/**
 * `npm run bench`: every section in one run, each figure beside its comparison, written to reports/bench/ as one JSON
 * file per section and a Markdown summary (README.md there), which is also printed.
 *
 *   node --import tsx bench/run.ts [--only throughput,harness,fuzz,scale,parser] [--quick] [--out DIR]
 *
 * --quick shortens every measurement (for trying the bench out, not for figures to keep).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../conformance/targets/peers.ts';
import { measureFuzz } from './fuzz.ts';
import { measureHarness } from './harness.ts';
import { measureParser } from './parser.ts';
import { renderMarkdown, targetsOf, type BenchResults } from './report.ts';
import { measureScale } from './scale.ts';
import { measureThroughput } from './throughput.ts';

const SECTIONS = ['throughput', 'harness', 'fuzz', 'scale', 'parser'] as const;
type Section = (typeof SECTIONS)[number];

function settings(quick: boolean) {
  return {
    throughput: { connections: 10, durationSeconds: quick ? 1 : 3, rounds: quick ? 1 : 3 },
    harness: { runs: quick ? 1 : 3 },
    fuzz: { seconds: quick ? 3 : 10, seed: 1, wrkSeconds: quick ? 1 : 3, wrkConnections: 10 },
    scale: { idleConnections: quick ? 1000 : 10_000, uploadBytes: quick ? 2 ** 28 : 2 ** 30, pointSeconds: quick ? 1 : 2, connections: 10 },
    parser: { roundMs: quick ? 300 : 1000, rounds: 3 },
  };
}

function parseSections(text: string | undefined): Section[] {
  if (text === undefined) return [...SECTIONS];
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.find((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown !== undefined) throw new Error(`unknown section ${unknown} (sections: ${SECTIONS.join(', ')})`);
  return names as Section[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean', default: false }, out: { type: 'string', default: path.join(REPO_ROOT, 'reports/bench') } } });
  const sections = parseSections(values.only);
  const config = settings(values.quick);
  const cpus = os.cpus();
  const results: BenchResults = {
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
      memoryGiB: os.totalmem() / 2 ** 30,
      node: process.version,
      loadAverage: os.loadavg()[0]!,
      started: new Date().toISOString(),
    },
    errors: {},
  };
  const measure: { [S in Section]: () => Promise<NonNullable<BenchResults[S]>> } = {
    throughput: () => measureThroughput(config.throughput),
    harness: () => measureHarness(config.harness),
    fuzz: () => measureFuzz(config.fuzz),
    scale: () => measureScale(config.scale),
    parser: () => measureParser(config.parser),
  };
  mkdirSync(values.out, { recursive: true });
  for (const section of sections) {
    const started = performance.now();
    process.stderr.write(`bench: ${section}…`);
    try {
      const result = await measure[section]();
      (results as unknown as Record<Section, unknown>)[section] = result;
      writeFileSync(path.join(values.out, `${section}.json`), JSON.stringify({ machine: results.machine, ...result }, null, 2) + '\n');
      process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      results.errors[section] = err instanceof Error ? err.message : String(err);
      process.stderr.write(` failed: ${results.errors[section]}\n`);
    }
  }
  const markdown = renderMarkdown(results);
  writeFileSync(path.join(values.out, 'README.md'), markdown);
  process.stdout.write(markdown);
  const missed = targetsOf(results).filter((t) => !t.holds).length;
  process.stderr.write(`bench: ${missed === 0 ? 'every target holds' : `${missed} target(s) missed (see the table)`}; written to ${path.relative(process.cwd(), values.out) || '.'}\n`);
  // A missed target is a finding of the run, not a failure of it; a section that could not be measured is.
  return Object.keys(results.errors).length > 0 ? 1 : 0;
}

process.exitCode = await main();
