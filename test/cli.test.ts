import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from 'tap-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../conformance/reporters/json.ts';
import { CannedServer } from './support/canned-server.ts';

const ROOT = new URL('..', import.meta.url).pathname;
/** Each test starts one or more child processes (tsx compiles on start-up): generous for a loaded CI machine. */
const CHILD_TIMEOUT_MS = 60_000;
/** Swaps the real catalogue for test/support/cli-fake-catalogue.ts: FAKE-STATUS-200 (MUST), FAKE-HEADER (SHOULD), FAKE-WSGI-PROBE. */
const FAKE_CATALOGUE = ['--import', './test/support/cli-fake-catalogue-hooks.mjs'];

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: CHILD_TIMEOUT_MS, env: { ...process.env, H1SPEC_DEBUG: '' } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** `node bin/h1spec.mjs ARGS` over the fake catalogue. */
const h1spec = (...args: string[]): Promise<Outcome> => node([...FAKE_CATALOGUE, 'bin/h1spec.mjs', ...args]);

/** A port nobody listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function parseTap(text: string): { ok: boolean; count: number; todo: number; bailout: boolean } {
  let final: { ok: boolean; count: number; todo: number } | undefined;
  let bailout = false;
  const parser = new Parser({ strict: true }, (results) => (final = results));
  parser.on('bailout', () => (bailout = true));
  parser.end(text);
  return { ...final!, bailout };
}

let folder: string;
let deadPort: number;
const servers: CannedServer[] = [];

async function serve(options: Parameters<typeof CannedServer.start>[0]): Promise<string> {
  const server = await CannedServer.start(options);
  servers.push(server);
  return `127.0.0.1:${server.port}`;
}

async function manifest(name: string, text: string): Promise<string> {
  const path = join(folder, name);
  await writeFile(path, text);
  return path;
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'h1spec-cli-'));
  deadPort = await closedPort();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('h1spec run: misuse exits 2 with one line on stderr and no stack trace', { timeout: CHILD_TIMEOUT_MS }, () => {
  const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
    ['unknown flag', async () => ['run', '--frobnicate'], /unknown option '--frobnicate'/],
    ['unknown flag near a real one', async () => ['run', '--stirct'], /unknown option '--stirct' \(Did you mean --strict\?\)/],
    ['unknown command', async () => ['rnu'], /unknown command 'rnu'/],
    ['no command', async () => [], /missing command/],
    ['stray argument', async () => ['run', 'extra'], /too many arguments/],
    ['bad --timeout', async () => ['run', '--timeout', 'soon'], /option '--timeout <ms>' argument 'soon' is invalid\. Expected a whole number from 1 to \d+\./],
    ['zero --timeout', async () => ['run', '--timeout', '0'], /argument '0' is invalid/],
    ['bad --concurrency', async () => ['run', '--concurrency', '-3'], /--concurrency/],
    ['unknown profile', async () => ['run', '--profile', 'django,http2'], /Unknown profile "http2"/],
    ['unknown mode', async () => ['run', '--mode', 'forking'], /--mode/],
    ['malformed --target', async () => ['run', '--target', 'localhost'], /Expected HOST:PORT/],
    ['--target port out of range', async () => ['run', '--target', '[::1]:70000'], /port must be from 1 to 65535/],
    ['--target with --spawn', async () => ['run', '--target', '127.0.0.1:1', '--spawn', 'x {port}'], /cannot be used with/],
    ['unknown ID in --only', async () => ['run', '--only', 'FAKE-STATUS-20'], /--only: unknown requirement ID "FAKE-STATUS-20" \(did you mean FAKE-STATUS-200\?\)/],
    ['unknown ID in --skip', async () => ['run', '--skip', 'NOTHING-OF-THE-SORT'], /--skip: unknown requirement ID "NOTHING-OF-THE-SORT"$/m],
    ['unreadable --expect', async () => ['run', '--expect', join(folder, 'missing.yaml')], /cannot read manifest .*missing\.yaml: ENOENT/],
    ['malformed manifest', async () => ['run', '--expect', await manifest('bad.yaml', 'expectations: { A: [unclosed\n')], /manifest .*bad\.yaml: not valid YAML or JSON/],
    [
      'manifest entry without a reason',
      async () => ['run', '--expect', await manifest('no-reason.json', '{"expectations": {"FAKE-HEADER": {"verdict": "fail"}}}')],
      /no-reason\.json: FAKE-HEADER: missing reason/,
    ],
    [
      'manifest naming an unknown ID',
      async () => ['run', '--expect', await manifest('unknown-id.yaml', 'expectations:\n  FAKE-HEADR: { verdict: fail, reason: x }\n')],
      /unknown requirement ID "FAKE-HEADR" \(did you mean FAKE-HEADER\?\)/,
    ],
    ['empty selection', async () => ['run', '--profile', 'wsgi', '--skip', 'FAKE-WSGI-PROBE'], /nothing to run/],
    ['--target nobody listens on', async () => ['run', '--target', `127.0.0.1:${deadPort}`], /cannot reach 127\.0\.0\.1:\d+ .*ECONNREFUSED/],
    ['--spawn that exits at once', async () => ['run', '--spawn', 'exit 3 {port}'], /cannot start the target: /],
  ];

  it.each(cases)('%s', async (_name, args, message) => {
    const { code, stdout, stderr } = await h1spec(...(await args()));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^h1spec: [^\n]+\n$/);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\bat .*:\d+:\d+/);
    expect(stdout).toBe('');
  });
});

describe('h1spec run: verdicts and exit codes', { timeout: CHILD_TIMEOUT_MS }, () => {
  it('exits 0 with TAP on stdout when only a SHOULD check fails, and 1 under --strict', async () => {
    const target = await serve({ status: 200 });
    const lenient = await h1spec('run', '--target', target);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/^not ok 2 - FAKE-HEADER: GET \/ carries X-Fake # TODO not scored: SHOULD/m);
    expect(parseTap(lenient.stdout)).toMatchObject({ ok: true, count: 2, todo: 1, bailout: false });
    expect(lenient.stderr).toContain('not scored (SHOULD/MAY; --strict makes them count): FAKE-HEADER (fail)');
    expect(lenient.stderr).toMatch(/exit 0: /);

    const strict = await h1spec('run', '--target', target, '--strict');
    expect(strict.code).toBe(1);
    expect(parseTap(strict.stdout)).toMatchObject({ ok: false, count: 2 });
    expect(strict.stderr).toContain('failing: FAKE-HEADER (fail)');
  });

  it('exits 0 when every check passes', async () => {
    const { code, stdout } = await h1spec('run', '--target', await serve({ headers: ['X-Fake: 1'] }));
    expect(code).toBe(0);
    expect(parseTap(stdout)).toMatchObject({ ok: true, count: 2, todo: 0 });
  });

  it('exits 1 on a MUST failure, unless the manifest expects it; an unexpected pass exits 1', async () => {
    const broken = await serve({ status: 500, headers: ['X-Fake: 1'] });
    const expectFail = await manifest('expect.yaml', 'expectations:\n  FAKE-STATUS-200: { verdict: fail, reason: "answers 500 on purpose" }\n');
    const plain = await h1spec('run', '--target', broken);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('failing: FAKE-STATUS-200 (fail)');

    const expected = await h1spec('run', '--target', broken, '--expect', expectFail);
    expect(expected.code).toBe(0);
    expect(expected.stdout).toMatch(/^not ok 1 - FAKE-STATUS-200: .* # TODO expected fail: answers 500 on purpose$/m);
    expect(parseTap(expected.stdout).ok).toBe(true);

    const fixed = await h1spec('run', '--target', await serve({ headers: ['X-Fake: 1'] }), '--expect', expectFail);
    expect(fixed.code).toBe(1);
    expect(fixed.stderr).toContain('failing: FAKE-STATUS-200 (xpass)');
    expect(fixed.stdout).toMatch(/^not ok 1 - FAKE-STATUS-200: GET \/ is answered 200$/m);
  });

  it('skips a probe check on a target without the probe, saying why', async () => {
    const { code, stdout } = await h1spec('run', '--target', await serve({}), '--profile', 'wsgi');
    expect(code).toBe(0);
    expect(stdout).toContain('ok 1 - FAKE-WSGI-PROBE: the probe application answers # SKIP needs the probe application (see README: probes)');
  });

  it('writes --tap and --json files (creating folders) and leaves stdout alone', async () => {
    const target = await serve({ status: 200 });
    const tap = join(folder, 'out', 'deeper', 'run.tap');
    const json = join(folder, 'out', 'run.json');
    const { code, stdout } = await h1spec('run', '--target', target, '--tap', tap, '--json', json, '--only', 'FAKE-STATUS-200,FAKE-WSGI-PROBE');
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(parseTap(await readFile(tap, 'utf8'))).toMatchObject({ ok: true, count: 2 });
    const report = JSON.parse(await readFile(json, 'utf8')) as JsonReport;
    expect(report.target).toBe(`${target} (--target)`);
    expect(report.summary).toMatchObject({ pass: 1, skip: 1, total: 2, exitCode: 0 });
    expect(report.results.map((r) => r.id)).toEqual(['FAKE-STATUS-200', 'FAKE-WSGI-PROBE']);
    expect(report.results[0]!.rerun).toBe(`npx h1spec run --only FAKE-STATUS-200 --target ${target}`);
    expect(await readdir(join(folder, 'out'))).toEqual(['deeper', 'run.json']);
  });

  it('puts TAP on stdout with --tap - beside a JSON file', async () => {
    const json = join(folder, 'beside.json');
    const { code, stdout } = await h1spec('run', '--target', await serve({}), '--tap', '-', '--json', json);
    expect(code).toBe(0);
    expect(stdout.startsWith('TAP version 14\n1..2\n')).toBe(true);
    expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject({ summary: { total: 2 } });
  });
});

describe('h1spec run --list', { timeout: CHILD_TIMEOUT_MS }, () => {
  it('lists the selection aligned, IDs in --only whatever their profile, without touching a target', async () => {
    const { code, stdout, stderr } = await h1spec('run', '--list', '--only', 'FAKE-WSGI-PROBE,FAKE-STATUS-200', '--target', `127.0.0.1:${deadPort}`);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe(
      ['FAKE-STATUS-200  django,rfc  MUST  GET / is answered 200', 'FAKE-WSGI-PROBE  wsgi        MUST  the probe application answers', ''].join('\n'),
    );
  });

  it('follows --profile and --skip', async () => {
    const { stdout } = await h1spec('run', '--list', '--profile', 'django', '--profile', 'wsgi', '--skip', 'FAKE-HEADER');
    expect(stdout.split('\n').map((line) => line.split(' ')[0])).toEqual(['FAKE-STATUS-200', 'FAKE-WSGI-PROBE', '']);
  });
});

describe('h1spec', { timeout: CHILD_TIMEOUT_MS }, () => {
  it('prints the package version (real catalogue, plain launcher)', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await node(['bin/h1spec.mjs', '--version'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('has --help on run, documenting every flag, the scoring rule and the exit codes', async () => {
    const { code, stdout } = await h1spec('run', '--help');
    expect(code).toBe(0);
    for (const flag of ['--target', '--spawn', '--profile', '--strict', '--only', '--skip', '--expect', '--tap', '--json', '--timeout', '--budget', '--concurrency', '--mode', '--ipv6', '--list']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('"scored": false');
    expect(stdout).toMatch(/2 +bad usage, or the target cannot be started or reached/);
  });
});
