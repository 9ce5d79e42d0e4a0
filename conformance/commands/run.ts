import { InvalidArgumentError, Option, type Command } from 'commander';
import { catalogue } from '../catalogue/index.ts';
import type { Profile, Requirement, ServerMode } from '../catalogue/types.ts';
import { CliError, EXIT } from '../cli-error.ts';
import { loadManifest, ManifestError, type Manifest } from '../manifest.ts';
import { writeFileAtomic } from '../reporters/files.ts';
import { renderJson } from '../reporters/json.ts';
import { progressObserver } from '../reporters/progress.ts';
import { renderSummary } from '../reporters/summary.ts';
import { renderTap } from '../reporters/tap.ts';
import { exitCodeFor, runChecks, selectRequirements, TargetUnreachableError, UnknownIdError } from '../runner.ts';
import type { RunningTarget } from '../targets/types.ts';
import type { Endpoint } from '../wire/types.ts';

const PROFILES: readonly Profile[] = ['django', 'wsgi', 'rfc'];
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_CONCURRENCY = 8;
/** setTimeout cannot wait longer than 2^31-1 ms; an hour is already far past any sensible single check. */
const MAX_TIMEOUT_MS = 3_600_000;
const MAX_CONCURRENCY = 256;

interface RunFlags {
  target?: Endpoint & { text: string };
  spawn?: string;
  profile: Profile[];
  strict: boolean;
  only: string[];
  skip: string[];
  expect?: string;
  tap?: string;
  json?: string;
  timeout: number;
  budget?: number;
  concurrency: number;
  mode: ServerMode;
  ipv6: boolean;
  list: boolean;
}

const HELP_AFTER = `
Targets: --target reaches a server that is already running; --spawn starts one (and stops it afterwards), which
lets checks read its log; with neither, the embedded reference server (the TypeScript port of Django 3.2's
runserver) is started on a free port of 127.0.0.1 (::1 with --ipv6).

Scoring: MUST checks always count. Without --strict a SHOULD or MAY check that fails is still reported as failed
("not ok ... # TODO not scored" in TAP, "scored": false in JSON) but does not make the exit code 1. An unexpected
pass of a check listed in the --expect manifest always counts.

Manifest (--expect, YAML or JSON):
  expectations:
    RFC-EMPTY-LINE: { verdict: fail, reason: "Django closes on a blank line" }
  verdict is fail, error or skip; every entry needs a reason. Expected and seen: xfail (does not fail the run);
  expected but passed: xpass (fails the run).

Output: TAP version 14 to stdout unless --tap or --json is given ("-" is stdout); a summary on stderr.

Exit status:
  0  every scored check passed (or failed as the --expect manifest says)
  1  any fail, error, or unexpected pass (xpass); or the target died during the run
  2  bad usage, or the target cannot be started or reached
  130/143  interrupted by SIGINT/SIGTERM (what was started is stopped first)
`;

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the conformance checks against an HTTP/1.1 server and report the verdicts')
    .addOption(new Option('--target <host:port>', 'a running server (IPv6 as [::1]:8000)').argParser(parseHostPort).conflicts('spawn'))
    .option('--spawn <command>', 'start the server with this shell command; {port} becomes a free port')
    .option('--profile <names>', `profiles to check: ${PROFILES.join(', ')} (repeat or comma-separate; default django)`, collectProfiles, [])
    .option('--strict', 'SHOULD and MAY failures count toward the exit code', false)
    .option('--only <ids>', 'run just these requirement IDs, whatever their profile (repeat or comma-separate)', collectIds, [])
    .option('--skip <ids>', 'leave out these requirement IDs (repeat or comma-separate)', collectIds, [])
    .option('--expect <file>', 'expectation manifest: known deviations, each with a reason')
    .option('--tap <file>', 'write TAP version 14 to this file ("-": stdout)')
    .option('--json <file>', 'write the JSON report to this file ("-": stdout)')
    .option('--timeout <ms>', 'time limit for each check, and for each single wait inside it', positiveInteger(MAX_TIMEOUT_MS), DEFAULT_TIMEOUT_MS)
    .option('--budget <ms>', 'time limit for the whole run; checks not started in time are errors', positiveInteger(Number.MAX_SAFE_INTEGER))
    .option('--concurrency <n>', 'checks run at once (forced to 1 for a serial target)', positiveInteger(MAX_CONCURRENCY), DEFAULT_CONCURRENCY)
    .addOption(new Option('--mode <mode>', 'what the target is: threaded, or serial (like runserver --nothreading)').choices(['threaded', 'serial']).default('threaded'))
    .option('--ipv6', 'serve the embedded reference on ::1 instead of 127.0.0.1', false)
    .option('--list', 'list the selected checks (ID, profiles, level, title) without touching a target', false)
    .addHelpText('after', HELP_AFTER)
    .action((flags: RunFlags) => runCommand(flags));
}

async function runCommand(flags: RunFlags): Promise<void> {
  const profiles = flags.profile.length > 0 ? [...new Set(flags.profile)] : (['django'] as Profile[]);
  const requirements = await select(profiles, flags);
  if (flags.list) {
    await finish(listing(requirements), '', EXIT.passed);
    return;
  }
  if (flags.tap === '-' && flags.json === '-') throw new CliError('--tap - and --json - cannot both take stdout');
  const manifest = flags.expect ? await readManifest(flags.expect) : null;
  if (requirements.length === 0) throw new CliError('nothing to run: the selection (--profile/--only/--skip) is empty');

  const report = await withTarget(flags, (target) =>
    runChecks(requirements, target, {
      profiles,
      strict: flags.strict,
      mode: flags.mode,
      timeoutMs: flags.timeout,
      ...(flags.budget !== undefined && { budgetMs: flags.budget }),
      concurrency: flags.concurrency,
      manifest,
      targetFlags: targetFlags(flags),
      observer: progressObserver(process.stderr),
    }),
  );

  let stdout = '';
  const outputs: Array<[string, string]> = [];
  const tapWanted = flags.tap ?? (flags.json === undefined ? '-' : undefined);
  if (tapWanted !== undefined) outputs.push([tapWanted, renderTap(report)]);
  if (flags.json !== undefined) outputs.push([flags.json, renderJson(report)]);
  for (const [path, text] of outputs) {
    if (path === '-') stdout += text;
    else await writeReport(path, text);
  }
  await finish(stdout, renderSummary(report), exitCodeFor(report));
}

type ErrorClass = new (...args: never[]) => Error;

/** Runs `work`, turning the expected failures it may raise into one-line CLI errors; anything else is a bug and stays so. */
async function reportedAs<T>(kinds: ErrorClass[], work: () => T | Promise<T>, prefix = ''): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (kinds.some((kind) => err instanceof kind)) throw new CliError(prefix + (err as Error).message);
    throw err;
  }
}

function select(profiles: Profile[], flags: RunFlags): Promise<Requirement[]> {
  return reportedAs([UnknownIdError], () => selectRequirements(catalogue, { profiles, only: flags.only, skip: flags.skip }));
}

function readManifest(path: string): Promise<Manifest> {
  return reportedAs([ManifestError], () => loadManifest(path, catalogue.map((r) => r.id)));
}

function writeReport(path: string, text: string): Promise<void> {
  return reportedAs([Error], () => writeFileAtomic(path, text), `cannot write ${path}: `);
}

/** Starts the target, runs `work` against it, and stops it whatever happens (signals included). */
async function withTarget<T>(flags: RunFlags, work: (target: RunningTarget) => Promise<T>): Promise<T> {
  const lifecycle = new TargetLifecycle();
  lifecycle.stopOnSignals();
  try {
    const target = await lifecycle.start(() => reportedAs([Error], () => startTarget(flags), 'cannot start the target: '));
    return await reportedAs([TargetUnreachableError], () => work(target));
  } finally {
    await lifecycle.stop();
  }
}

/** Aligned columns: ID, profiles, level, title. */
function listing(requirements: readonly Requirement[]): string {
  const rows = requirements.map((r) => [r.id, r.profiles.join(','), r.level, r.title]);
  const widths = [0, 1, 2].map((column) => Math.max(0, ...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell)).join('  ') + '\n').join('');
}

/**
 * Exits once the output is flushed, rather than waiting for the event loop to drain: a check that overran its time
 * limit may still hold a socket, and the verdicts are already decided.
 */
async function finish(stdout: string, stderr: string, code: number): Promise<never> {
  await Promise.all([write(process.stdout, stdout), write(process.stderr, stderr)]);
  process.exit(code);
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return text ? new Promise((resolve) => stream.write(text, () => resolve())) : Promise.resolve();
}

/** Owns what the run started: stops it when the run ends, fails, or the process is told to stop. */
class TargetLifecycle {
  private starting: Promise<RunningTarget> | null = null;
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();

  async start(starter: () => Promise<RunningTarget>): Promise<RunningTarget> {
    this.starting = starter();
    return this.starting;
  }

  stopOnSignals(): void {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const handler = (): void => {
        // On a terminal the progress line is still open: end it first. A second signal finds no handler and kills at once.
        process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}h1spec: ${signal}: stopping the target\n`);
        void this.stop().finally(() => process.exit(code));
      };
      this.signalHandlers.set(signal, handler);
      process.once(signal, handler);
    }
  }

  async stop(): Promise<void> {
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    this.signalHandlers.clear();
    // A target still starting is awaited, so a process spawned a moment before the signal is not left behind.
    const target = await this.starting?.catch(() => null);
    await target?.stop();
  }
}

async function startTarget(flags: RunFlags): Promise<RunningTarget> {
  if (flags.target) return givenTarget(flags.target);
  if (flags.spawn !== undefined) {
    const { spawnTarget } = await import('../targets/spawn.ts');
    return spawnTarget(flags.spawn, {});
  }
  // Loaded on demand: --target and --spawn runs (and --list) never need the reference server in memory.
  const { startEmbeddedReference } = await import('../targets/embedded.ts');
  return startEmbeddedReference({ mode: flags.mode, host: flags.ipv6 ? '::1' : '127.0.0.1' });
}

function givenTarget(target: Endpoint & { text: string }): RunningTarget {
  return {
    endpoint: { host: target.host, port: target.port },
    description: `${target.text} (--target)`,
    log: null,
    // The harness does not own this server, so it never learns of its exit other than by liveness probes.
    exited: new Promise(() => {}),
    stop: async () => {},
  };
}

/** The flags that reach the same target again, for the "rerun" hint of each result. */
function targetFlags(flags: RunFlags): string[] {
  const reach = flags.target
    ? ['--target', flags.target.text]
    : flags.spawn !== undefined
      ? ['--spawn', flags.spawn]
      : flags.ipv6
        ? ['--ipv6']
        : [];
  return flags.mode === 'serial' ? [...reach, '--mode', 'serial'] : reach;
}

function parseHostPort(text: string): Endpoint & { text: string } {
  const match = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text);
  if (!match) throw new InvalidArgumentError('Expected HOST:PORT (IPv6 in brackets: [::1]:8000).');
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new InvalidArgumentError('The port must be from 1 to 65535.');
  return { host: match[1]!, port, text };
}

function positiveInteger(max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > max) {
      throw new InvalidArgumentError(`Expected a whole number from 1 to ${max}.`);
    }
    return value;
  };
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((word) => word.trim())
    .filter((word) => word !== '');
}

function collectIds(text: string, previous: string[]): string[] {
  return [...previous, ...splitList(text)];
}

function collectProfiles(text: string, previous: Profile[]): Profile[] {
  const names = splitList(text);
  const unknown = names.find((name) => !PROFILES.includes(name as Profile));
  if (unknown !== undefined) throw new InvalidArgumentError(`Unknown profile "${unknown}" (profiles: ${PROFILES.join(', ')}).`);
  return [...previous, ...(names as Profile[])];
}
