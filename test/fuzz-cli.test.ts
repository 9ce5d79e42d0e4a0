/**
 * `h1spec fuzz`, `h1spec report merge` and `h1spec diff` as a person runs them: exit codes, the files a campaign
 * leaves, Ctrl-C, sharding and merging, replay of a saved finding.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Parser } from 'tap-parser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { startBrokenServer } from './support/fuzz-broken-servers.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'bin/h1spec.mjs');
const CHILD_TIMEOUT_MS = 90_000;
/** How long Ctrl-C may wait for the campaign to have started (tsx compiles on first start). */
const START_WAIT_MS = 30_000;
const POLL_MS = 100;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function h1spec(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: CHILD_TIMEOUT_MS }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

let scratch: string;
let brokenTarget: RunningTarget;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'h1spec-fuzz-cli-'));
  brokenTarget = await startBrokenServer('strips-nothing');
});

afterAll(async () => {
  await brokenTarget?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('h1spec fuzz against the embedded reference', () => {
  test('a campaign ends by itself with exit 0, a manifest, an event log, TAP and no findings', async () => {
    const out = join(scratch, 'whole');
    const result = await h1spec(['fuzz', '--runs', '400', '--seed', '17', '--out', out]);
    expect(result.stderr).toMatch(/400 cases, \d+ exchanges .*: no findings/);
    expect(result.code).toBe(0);
    const manifest = await readJson(join(out, 'manifest.json'));
    expect(manifest).toMatchObject({ command: 'fuzz', status: 'finished', seed: 17, shard: '1/1', profile: 'django', budget: { runs: 400 }, counts: { runs: 400, findings: 0 } });
    expect((manifest['versions'] as Record<string, string>)['fastCheck']).toMatch(/^\d+\.\d+\.\d+$/);
    const events = (await readFile(join(out, 'events.jsonl'), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as { type: string });
    expect(events[0]!.type).toBe('start');
    expect(events.at(-1)!.type).toBe('end');
    const tap = Parser.parse(await readFile(join(out, 'fuzz.tap'), 'utf8')) as Array<[string, { ok?: boolean }]>;
    const points = tap.filter(([kind]) => kind === 'assert').map(([, point]) => point.ok);
    expect(points).toEqual([true, true, true, true, true, true, true]);
    expect(JSON.parse(await readFile(join(out, 'findings.json'), 'utf8'))).toEqual([]);
  }, 120_000);

  test('two shards of a seed, merged by `h1spec report merge`, give the TAP of the unsharded run', async () => {
    const outs = [join(scratch, 'shard-1'), join(scratch, 'shard-2')];
    const shards = await Promise.all(outs.map((out, i) => h1spec(['fuzz', '--runs', '400', '--seed', '17', '--shard', `${i + 1}/2`, '--out', out])));
    expect(shards.map((s) => s.code)).toEqual([0, 0]);
    const merged = join(scratch, 'merged');
    const result = await h1spec(['report', 'merge', ...outs, '--out', merged]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('2 shards of seed 17 (400 runs): 400 cases, no findings');
    expect(await readFile(join(merged, 'fuzz.tap'), 'utf8')).toBe(await readFile(join(scratch, 'whole', 'fuzz.tap'), 'utf8'));
    expect(await readJson(join(merged, 'manifest.json'))).toMatchObject({ command: 'report merge', seed: 17, counts: { runs: 400, findings: 0 } });
  }, 120_000);

  test('Ctrl-C stops the campaign cleanly: exit 130, and the manifest says interrupted', async () => {
    const out = join(scratch, 'interrupted');
    const child = spawn(process.execPath, [CLI, 'fuzz', '--time', '60s', '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const started = performance.now();
      while (performance.now() - started < START_WAIT_MS) {
        const events = await readFile(join(out, 'events.jsonl'), 'utf8').catch(() => '');
        if (events.includes('"type":"progress"')) break;
        await sleep(POLL_MS);
      }
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const manifest = await readJson(join(out, 'manifest.json'));
    expect(manifest['status']).toBe('interrupted');
    expect((manifest['counts'] as { runs: number }).runs).toBeGreaterThan(0);
  }, 120_000);
});

describe('h1spec fuzz against a broken server', () => {
  test('finds the break, exits 1, saves a fixture that --replay reproduces', async () => {
    const out = join(scratch, 'broken');
    const target = `127.0.0.1:${brokenTarget.endpoint.port}`;
    const result = await h1spec(['fuzz', '--target', target, '--property', 'environ', '--runs', '4', '--seed', '2', '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('HDR-UNDERSCORE-STRIP (environ): GET / HTTP/1.1\\r\\n_: \\r\\n\\r\\n');
    const [file] = await readdir(join(out, 'findings'));
    const fixture = await readJson(join(out, 'findings', file!));
    expect(fixture).toMatchObject({ id: 'HDR-UNDERSCORE-STRIP', property: 'environ', request: { bytes: 23, escaped: 'GET / HTTP/1.1\\r\\n_: \\r\\n\\r\\n' } });
    const replay = await h1spec(['fuzz', '--replay', join(out, 'findings', file!), '--target', target]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain('reproduced: HDR-UNDERSCORE-STRIP');
    const fixed = await h1spec(['fuzz', '--replay', join(out, 'findings', file!)]);
    expect(fixed.code).toBe(0);
    expect(fixed.stderr).toContain('passes now');
  }, 120_000);

  test('h1spec diff against the reference reports the difference, shrunk', async () => {
    const out = join(scratch, 'diff');
    const result = await h1spec(['diff', '--target', `127.0.0.1:${brokenTarget.endpoint.port}`, '--property', 'environ', '--runs', '3', '--seed', '2', '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DIFF:[^ ]+ \(environ\): GET \/ HTTP\/1\.1\\r\\n_: \\r\\n\\r\\n/);
    expect(await readJson(join(out, 'manifest.json'))).toMatchObject({ command: 'diff', status: 'finished' });
  }, 120_000);

  test('usage errors exit 2 with one line', async () => {
    const results = await Promise.all([
      h1spec(['fuzz', '--shard', '3/2']),
      h1spec(['fuzz', '--property', 'nope']),
      h1spec(['fuzz', '--path', '0:1']),
      h1spec(['fuzz', '--target', '127.0.0.1:1', '--runs', '1', '--out', join(scratch, 'unreachable')]),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    for (const r of results) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 120_000);
});
