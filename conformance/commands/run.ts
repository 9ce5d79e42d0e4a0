import { InvalidArgumentError, Option, type Command } from 'commander';
import { catalogue } from '../catalogue/index.ts';
import type { Profile, Requirement } from '../catalogue/types.ts';
import { CliError, EXIT } from '../cli-error.ts';
import { loadManifest, ManifestError, type Manifest } from '../manifest.ts';
import { writeFileAtomic } from '../reporters/files.ts';
import { renderHtml } from '../reporters/html.ts';
import { renderJson } from '../reporters/json.ts';
import { renderJunit } from '../reporters/junit.ts';
import { progressObserver } from '../reporters/progress.ts';
import { renderSummary } from '../reporters/summary.ts';
import { renderTap } from '../reporters/tap.ts';
import { exitCodeFor, runChecks, selectRequirements, TargetUnreachableError, UnknownIdError } from '../runner.ts';
import type { RunningTarget } from '../targets/types.ts';
import { parseHostPort, positiveInteger, reportedAs, startTarget, TargetLifecycle, targetFlags, type TargetFlags } from './target-options.ts';

const PROFILES: readonly Profile[] = ['django', 'wsgi', 'rfc'];
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_CONCURRENCY = 8;
/** setTimeout cannot wait longer than 2^31-1 ms; an hour is already far past any sensible single check. */
const MAX_TIMEOUT_MS = 3_600_000;
const MAX_CONCURRENCY = 256;

interface RunFlags extends TargetFlags {
  profile: Profile[];
  strict: boolean;
  only: string[];
  skip: string[];
  expect?: string;
  tap?: string;
  json?: string;
  junit?: string;
  html?: string;
  timeout: number;
  budget?: number;
  concurrency: number;
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

Output: TAP version 14 to stdout unless --tap, --json, --junit or --html is given ("-" is stdout, for one of
them); a summary on stderr. --junit writes JUnit XML for CI test reports (one test case per ID); --html one
self-contained page, filterable by area and verdict, with each check's bytes.

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
    .option('--junit <file>', 'write JUnit XML to this file ("-": stdout)')
    .option('--html <file>', 'write a self-contained HTML report to this file ("-": stdout)')
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
  const toStdout = (['tap', 'json', 'junit', 'html'] as const).filter((format) => flags[format] === '-');
  if (toStdout.length > 1) throw new CliError(`${toStdout.map((format) => `--${format} -`).join(' and ')}: only one output can take stdout`);
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
  const anyFile = flags.json !== undefined || flags.junit !== undefined || flags.html !== undefined;
  const tapWanted = flags.tap ?? (anyFile ? undefined : '-');
  if (tapWanted !== undefined) outputs.push([tapWanted, renderTap(report)]);
  if (flags.json !== undefined) outputs.push([flags.json, renderJson(report)]);
  if (flags.junit !== undefined) outputs.push([flags.junit, renderJunit(report)]);
  if (flags.html !== undefined) outputs.push([flags.html, renderHtml(report)]);
  for (const [path, text] of outputs) {
    if (path === '-') stdout += text;
    else await writeReport(path, text);
  }
  await finish(stdout, renderSummary(report), exitCodeFor(report));
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
