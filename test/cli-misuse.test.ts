/**
 * Every misuse of the h1spec CLI, whatever the command, ends with one clear line on stderr and exit 2: no stack
 * trace, nothing on stdout, nothing started left behind. (test/cli.test.ts holds the `run` cases of this table:
 * unknown flags, bad values, unreadable manifests, a --spawn that exits at once.)
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
/** A child process that starts tsx: generous for a loaded CI machine. */
const CHILD_TIMEOUT_MS = 60_000;

function h1spec(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/h1spec.mjs', ...args], { cwd: ROOT, timeout: CHILD_TIMEOUT_MS, env: { ...process.env, H1SPEC_DEBUG: '' } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** A port held by a listener of this process for the whole file (busy), and one nobody listens on (dead). */
let busy: net.Server;
let busyPort: number;
let deadPort: number;

async function listen(): Promise<net.Server> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  busy = await listen();
  busyPort = (busy.address() as net.AddressInfo).port;
  const released = await listen();
  deadPort = (released.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => released.close(() => resolve()));
});

afterAll(async () => {
  await new Promise<void>((resolve) => busy.close(() => resolve()));
});

type Case = [string, () => string[], RegExp];

const CASES: Case[] = [
  // serve
  ['serve: unknown flag', () => ['serve', '--frobnicate'], /unknown option '--frobnicate'/],
  ['serve: a port that is no number', () => ['serve', '--port', 'eighty'], /--port <port>' argument 'eighty' is invalid/],
  ['serve: a port out of range', () => ['serve', '--port', '70000'], /must be a port number from 0 to 65535/],
  ['serve: a port in use', () => ['serve', '--port', String(busyPort)], /^h1spec: Error: cannot serve on http:\/\/127\.0\.0\.1:\d+\/: That port is already in use\.$/m],
  ['serve: a --timeout that is no number', () => ['serve', '--timeout', 'soon'], /--timeout <seconds>' argument 'soon' is invalid\. Expected a number of seconds above 0/],
  ['serve: a --timeout of 0', () => ['serve', '--timeout', '0'], /--timeout <seconds>' argument '0' is invalid/],
  ['serve: a negative --timeout', () => ['serve', '--timeout', '-2'], /--timeout <seconds>' argument '-2' is invalid/],
  ['serve: a --max-connections of 0', () => ['serve', '--max-connections', '0'], /--max-connections <n>' argument '0' is invalid\. Expected a whole number from 1/],
  ['serve: a fractional --max-connections', () => ['serve', '--max-connections', '2.5'], /--max-connections <n>' argument '2\.5' is invalid/],
  ['serve: --max-connections without threading', () => ['serve', '--nothreading', '--max-connections', '4'], /'--max-connections <n>' cannot be used with option '--nothreading'/],
  ['serve: an --app that cannot be loaded', () => ['serve', '--app', '/nonexistent/app.ts'], /--app \/nonexistent\/app\.ts: not a built-in app \(probe, hello\) and cannot be loaded/],
  ['serve: an unknown --log-format', () => ['serve', '--log-format', 'xml'], /Allowed choices are django, json/],
  // run (the rest of its table is in test/cli.test.ts)
  ['run: a --budget that is no number', () => ['run', '--budget', 'soon'], /--budget <ms>' argument 'soon' is invalid/],
  // fuzz
  ['fuzz: unknown flag', () => ['fuzz', '--frobnicate'], /unknown option '--frobnicate'/],
  ['fuzz: a --time that is no duration', () => ['fuzz', '--time', 'forever'], /--time <duration>' argument 'forever' is invalid/],
  ['fuzz: --runs 0', () => ['fuzz', '--runs', '0'], /--runs <n>' argument '0' is invalid/],
  ['fuzz: a shard past the count', () => ['fuzz', '--shard', '3/2'], /--shard <I\/N>' argument '3\/2' is invalid/],
  ['fuzz: an unknown property', () => ['fuzz', '--property', 'nope'], /Unknown property "nope"/],
  ['fuzz: an unreadable --replay', () => ['fuzz', '--replay', '/nonexistent/finding.json'], /cannot read \/nonexistent\/finding\.json: ENOENT/],
  ['fuzz: a --target nobody listens on', () => ['fuzz', '--target', `127.0.0.1:${deadPort}`, '--time', '1s'], /cannot reach 127\.0\.0\.1:\d+ \(--target\): .*ECONNREFUSED/],
  ['fuzz: a --spawn that exits at once', () => ['fuzz', '--spawn', 'false {port}', '--time', '1s'], /cannot start the target: target exited with code 1 /],
  // diff
  ['diff: unknown flag', () => ['diff', '--frobnicate'], /unknown option '--frobnicate'/],
  ['diff: a malformed --against', () => ['diff', '--against', 'nothing'], /--against <host:port>' argument 'nothing' is invalid/],
  ['diff: an --against-spawn that exits at once', () => ['diff', '--against-spawn', 'false {port}', '--time', '1s'], /cannot start the target: target exited with code 1 /],
  // report
  ['report merge: no folders', () => ['report', 'merge'], /missing required argument 'dirs'/],
  ['report merge: a folder that is no campaign', () => ['report', 'merge', '/nonexistent/shard'], /cannot read \/nonexistent\/shard\/fuzz\.tap: ENOENT/],
];

// Each case is its own process, mostly waiting on tsx to start: a few at once.
describe.concurrent('misuse of the CLI: one line on stderr, exit 2', { timeout: CHILD_TIMEOUT_MS }, () => {
  it.for(CASES)('%s', async ([, args, message], { expect }) => {
    const { code, stdout, stderr } = await h1spec(args());
    expect(stderr).toMatch(/^h1spec: [^\n]+\n$/);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\bat .*:\d+:\d+/);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
  });
});
