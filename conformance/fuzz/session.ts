/**
 * What the fuzz and diff commands share around a campaign: finding out what the target is (reachable? the probe?),
 * the campaign's folder (manifest, event log, TAP, findings, fixtures), the progress bar, and Ctrl-C.
 */
import { SingleBar } from 'cli-progress';
import fc from 'fast-check';
import { join } from 'node:path';
import type { Profile, ServerMode } from '../catalogue/types.ts';
import { parseProbeReport } from '../probes/contract.ts';
import { TOOL } from '../runner.ts';
import type { RunningTarget } from '../targets/types.ts';
import { exchange, formatEndpoint } from '../wire/client.ts';
import { escapeBytes } from '../wire/escape.ts';
import type { Endpoint } from '../wire/types.ts';
import { campaignReport, EventLog, FILES, fixturesPath, writeCampaignFiles, writeManifest } from './artefacts.ts';
import { runCampaign, type CampaignConfig, type CampaignStats, type CampaignSummary } from './campaign.ts';
import { caseBytes } from './cases.ts';
import { toFixture, writeFixture, type Fixture } from './fixtures.ts';
import { formatShard } from './shard.ts';

export interface TargetInfo {
  reachable: boolean;
  probe: boolean;
  detail: string;
}

/** A plain `GET /`: whether the target answers at all, and whether it answers with the probe contract. */
export async function inspectTarget(endpoint: Endpoint, timeoutMs: number): Promise<TargetInfo> {
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: ${formatEndpoint(endpoint)}\r\nConnection: close\r\n\r\n`, 'latin1');
  try {
    const conversation = await exchange(endpoint, request, { methods: ['GET'], timeoutMs, after: 'none' });
    const response = conversation.responses[0];
    if (!response) return { reachable: false, probe: false, detail: `a GET got no answer (connection ${conversation.close})` };
    return { reachable: true, probe: response.complete && parseProbeReport(response.body) !== null, detail: 'answered' };
  } catch (err) {
    return { reachable: false, probe: false, detail: (err as Error).message };
  }
}

/** Ctrl-C (or SIGTERM) asks the campaign to stop, so it still writes its files; a second one ends the process at once. */
export class StopSignal {
  private received: NodeJS.Signals | null = null;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => {
        if (this.received) process.exit(exitCodeForSignal(signal));
        this.received = signal;
        process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}h1spec: ${signal}: stopping the campaign (again to quit at once)\n`);
      };
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  get signal(): NodeJS.Signals | null {
    return this.received;
  }

  release(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.handlers.clear();
  }
}

export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** A live line on a terminal (runs, rate, findings); nothing otherwise, so CI logs stay clean. */
function progressBar(total: number, byTime: boolean): { update(stats: CampaignStats): void; stop(): void } | null {
  if (!process.stderr.isTTY) return null;
  const bar = new SingleBar({
    stream: process.stderr,
    format: 'h1spec fuzz {bar} {percentage}% | {runs} runs | {rate} req/s | {findings} findings | {elapsed}s',
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total, 0, { runs: 0, rate: 0, findings: 0, elapsed: 0 });
  return {
    update: (stats) => bar.update(Math.min(total, byTime ? Math.floor(stats.elapsedMs / 1000) : stats.runs), { runs: stats.runs, rate: stats.rate, findings: stats.findings, elapsed: Math.round(stats.elapsedMs / 1000) }),
    stop: () => bar.stop(),
  };
}

export interface SessionOptions {
  command: 'fuzz' | 'diff';
  out: string;
  corpus?: string;
  /** Flags that reach the same target(s) again, for the replay commands. */
  targetFlags: string[];
  /** Extra facts for the manifest (the other target of a diff). */
  extra?: Record<string, unknown>;
  /** The budget as the user gave it. */
  budget: { runs: number | null; timeMs: number };
}

export interface SessionResult {
  summary: CampaignSummary;
  fixtures: Fixture[];
  exitCode: number;
}

/** Runs a campaign with its files, progress and Ctrl-C handling; the caller owns the target. */
export async function runSession(config: CampaignConfig, target: RunningTarget, options: SessionOptions): Promise<SessionResult> {
  const started = new Date();
  const manifest = {
    tool: TOOL,
    command: options.command,
    status: 'running',
    target: target.description,
    endpoint: target.endpoint,
    targetFlags: options.targetFlags,
    versions: { h1spec: TOOL.version, node: process.version, fastCheck: fc.__version },
    profile: config.profile,
    mode: config.facts.mode,
    probe: config.facts.probe,
    seed: config.seed,
    shard: formatShard(config.shard),
    budget: options.budget,
    properties: config.properties.map((p) => p.name),
    concurrency: config.concurrency,
    timeoutMs: config.timeoutMs,
    started: started.toISOString(),
    files: FILES,
    ...options.extra,
  };
  await writeManifest(options.out, manifest);
  const log = await EventLog.open(options.out);
  log.write({ type: 'start', ...manifest });
  const stop = new StopSignal();
  const byTime = options.budget.runs === null;
  const bar = progressBar(byTime ? Math.ceil(config.timeMs / 1000) : Math.min(config.runs, Math.ceil(config.runs / config.shard.count)), byTime);
  const fixtures: Fixture[] = [];
  const saving: Array<Promise<unknown>> = [];
  let summary: CampaignSummary;
  try {
    summary = await runCampaign(config, {
      stopRequested: () => stop.signal !== null,
      event: (event) => {
        if (event.type === 'progress') bar?.update(event.stats);
        if (event.type === 'finding') {
          const { evidence: _evidence, case: wireCase, ...brief } = event.finding;
          log.write({ type: 'finding', ...brief, request: escapeBytes(caseBytes(wireCase)) });
        } else {
          log.write(event);
        }
      },
    });
  } finally {
    bar?.stop();
    stop.release();
  }
  for (const finding of summary.findings) {
    const file = join(fixturesPath(options.out), `${finding.key}.json`);
    const fixture = toFixture(finding, { command: options.command, target: target.description, targetFlags: options.targetFlags, file });
    fixtures.push(fixture);
    saving.push(writeFixture(fixturesPath(options.out), fixture));
    if (options.corpus) saving.push(writeFixture(options.corpus, fixture));
  }
  await Promise.all(saving);
  const budget = options.budget.runs !== null ? `${options.budget.runs} runs` : `${Math.round(config.timeMs / 1000)} s`;
  await writeCampaignFiles(options.out, campaignReport(summary, { seed: config.seed, profile: config.profile, budget, fixtures }), fixtures);
  const status = stop.signal ? 'interrupted' : summary.status;
  const finished = new Date();
  await writeManifest(options.out, {
    ...manifest,
    status,
    finished: finished.toISOString(),
    wallMs: finished.getTime() - started.getTime(),
    counts: { ...summary.stats, planned: summary.planned },
    death: summary.death,
  });
  log.write({ type: 'end', status, stats: summary.stats, findings: summary.findings.map((f) => f.key) });
  await log.close();
  const exitCode = stop.signal ? exitCodeForSignal(stop.signal) : summary.findings.length > 0 || summary.death ? 1 : 0;
  return { summary, fixtures, exitCode };
}

/** The lines a person reads at the end of a campaign. */
export function describeSession(result: SessionResult, context: { command: SessionOptions['command']; target: string; out: string; profile: Profile; mode: ServerMode }): string {
  const { stats, status, death } = result.summary;
  const lines = [
    `h1spec ${context.command}${status === 'finished' || status === 'time-up' ? '' : ` (${status})`}: ${stats.runs} cases, ${stats.exchanges} exchanges (${stats.rate}/s) in ${(stats.elapsedMs / 1000).toFixed(1)} s against ${context.target} [profile ${context.profile}, ${context.mode}]: ${result.fixtures.length === 0 ? 'no findings' : `${result.fixtures.length} finding${result.fixtures.length === 1 ? '' : 's'}`}${stats.errors > 0 ? ` (${stats.errors} inconclusive)` : ''}`,
  ];
  if (death) lines.push(`  the target died: ${death}`);
  for (const fixture of result.fixtures) {
    lines.push(`  ${fixture.id} (${fixture.property}): ${escapeBytes(caseBytes(fixture.case), 200)}`);
    lines.push(`    expected ${fixture.expected}; saw ${fixture.seen}`);
    lines.push(`    replay: ${fixture.replay}`);
  }
  lines.push(`  report: ${context.out} (${FILES.manifest}, ${FILES.events}, ${FILES.tap}, ${FILES.findings}, ${FILES.fixtures}/)`);
  return lines.join('\n') + '\n';
}
