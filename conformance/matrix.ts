/**
 * The conformance matrix: every peer recipe (conformance/targets/peers.ts) started in turn, every check of its
 * profiles run against it with its expectation manifest, and the results written as per-server TAP and JSON plus an
 * index (Markdown and one self-contained HTML page) of servers × requirement IDs grouped by area.
 *
 * What the matrix writes is a snapshot meant to be committed, so it must change only when a verdict (or a server's
 * version) does: `stabilise` blanks timings, ports, dates and other values that differ from run to run, and keeps
 * evidence only where a reader needs it (results that are not a pass or a skip).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { catalogue } from './catalogue/index.ts';
import { clientHelloWithLineFeed, clientHelloWithoutLineFeed } from './catalogue/tls-hello.ts';
import type { Evidence, Profile, Requirement, ServerMode, Verdict } from './catalogue/types.ts';
import { loadManifest, type Manifest } from './manifest.ts';
import { areaLabel, groupByArea } from './reporters/areas.ts';
import { writeFileAtomic } from './reporters/files.ts';
import { renderHtmlPage, type HtmlColumn } from './reporters/html.ts';
import { renderJson, type JsonReport } from './reporters/json.ts';
import { shellWord } from './reporters/rerun.ts';
import { renderTap } from './reporters/tap.ts';
import { exitCodeFor, failingResults, runChecks, selectRequirements, TOOL, VERDICTS, type CheckRecord, type RunReport } from './runner.ts';
import { peerCommandLine, peerManifestPath, peerMissing, peerVersion, REPO_ROOT, spawnPeer, type PeerRecipe } from './targets/peers.ts';
import type { RunningTarget } from './targets/types.ts';

export interface MatrixServer {
  name: string;
  /** As the server reports it (`gunicorn 20.1.0`); null when it cannot run here. */
  version: string | null;
  mode: ServerMode;
  profiles: Profile[];
  /** The expectation manifest, relative to the repository root. */
  manifest: string;
  /** The flags of `h1spec run` that start this server again (`--spawn …`, `--mode serial`). */
  targetFlags: string[];
  /** Why the server has no report: it cannot run here, did not start, or did not answer. */
  problem: string | null;
  /** The run, stabilised (see `stabilise`); null when the server did not run. */
  report: RunReport | null;
}

export interface Matrix {
  tool: { name: string; version: string };
  requirements: Array<Pick<Requirement, 'id' | 'title' | 'level' | 'profiles' | 'source'>>;
  servers: MatrixServer[];
}

export interface MatrixOptions {
  /** Limit for each check and each wait inside it, as `h1spec run --timeout`. */
  timeoutMs?: number;
  /** Checks at once on a threaded server, as `h1spec run --concurrency`. */
  concurrency?: number;
  /** Time for one server's whole run: a server that hangs every check still ends in bounded time. */
  serverBudgetMs?: number;
  /** Told about each server as soon as it is done. */
  onServer?: (server: MatrixServer, wallMs: number) => void;
}

export const MATRIX_DEFAULTS = { timeoutMs: 5000, concurrency: 8, serverBudgetMs: 180_000 } as const;

/** Runs every recipe in turn (one server at a time, so servers do not slow each other into timeouts). */
export async function runMatrix(recipes: readonly PeerRecipe[], options: MatrixOptions = {}): Promise<Matrix> {
  const servers: MatrixServer[] = [];
  for (const recipe of recipes) {
    const startedAt = performance.now();
    const server = await runServer(recipe, { ...MATRIX_DEFAULTS, ...options });
    servers.push(server);
    options.onServer?.(server, Math.round(performance.now() - startedAt));
  }
  return {
    tool: TOOL,
    requirements: catalogue.map(({ id, title, level, profiles, source }) => ({ id, title, level, profiles, source })),
    servers,
  };
}

export function serverTargetFlags(recipe: PeerRecipe): string[] {
  return ['--spawn', peerCommandLine(recipe), ...(recipe.mode === 'serial' ? ['--mode', 'serial'] : [])];
}

async function runServer(recipe: PeerRecipe, options: Required<Omit<MatrixOptions, 'onServer'>>): Promise<MatrixServer> {
  const server: MatrixServer = {
    name: recipe.name,
    version: peerVersion(recipe),
    mode: recipe.mode,
    profiles: [...recipe.profiles],
    manifest: peerManifestPath(recipe),
    targetFlags: serverTargetFlags(recipe),
    problem: peerMissing(recipe),
    report: null,
  };
  if (server.problem) return server;
  let target: RunningTarget | null = null;
  try {
    const manifest = await serverManifest(server.manifest);
    target = await spawnPeer(recipe);
    const report = await runChecks(selectRequirements(catalogue, { profiles: recipe.profiles }), target, {
      profiles: recipe.profiles,
      strict: false,
      mode: recipe.mode,
      timeoutMs: options.timeoutMs,
      budgetMs: options.serverBudgetMs,
      concurrency: options.concurrency,
      manifest,
      targetFlags: server.targetFlags,
    });
    server.report = stabilise(report, { name: recipe.name, version: server.version ?? '', port: target.endpoint.port, hostname: hostname(), ...(await helloVariants()) });
  } catch (err) {
    server.problem = (err as Error).message;
  } finally {
    await target?.stop();
  }
  return server;
}

/** A server without a manifest yet runs without one: its gate then shows every deviation as a failure to explain. */
async function serverManifest(path: string): Promise<Manifest | null> {
  const absolute = join(REPO_ROOT, path);
  if (!existsSync(absolute)) return null;
  const manifest = await loadManifest(absolute, catalogue.map((requirement) => requirement.id));
  // The report names the manifest as the repository does, not by this machine's path to it.
  return { ...manifest, source: path };
}

/** The gate for one server: `h1spec run` with its profiles and manifest; exit 0 means it is as its manifest says. */
export function gateCommand(server: Pick<MatrixServer, 'targetFlags' | 'profiles' | 'manifest'>): string {
  return ['npx', 'h1spec', 'run', ...server.targetFlags, '--profile', server.profiles.join(','), '--expect', server.manifest].map(shellWord).join(' ');
}

/**
 * The manifest entries that would make a red gate green, as YAML to paste into the server's manifest once each
 * reason says why: every fail or error the manifest does not list (SHOULD and MAY ones too, so the manifest is the
 * whole list of deviations), and every entry that passes now. Null when the server is exactly as its manifest says.
 */
export function manifestDraft(server: MatrixServer): string | null {
  if (!server.report) return null;
  const lines: string[] = [];
  for (const record of server.report.results) {
    if (record.verdict === 'xpass') lines.push(`  # ${record.id} passes now: remove its entry`);
    if ((record.verdict === 'fail' || record.verdict === 'error') && !record.expectation) {
      lines.push(`  ${record.id}:`, `    verdict: ${record.verdict}`, `    reason: ${JSON.stringify(`TODO say why; seen: ${record.actual || record.reason || ''}`)}`);
    }
  }
  return lines.length > 0 ? `# ${server.manifest}\nexpectations:\n${lines.join('\n')}\n` : null;
}

/** 0 when every server ran and its gate is green. */
export function matrixExitCode(matrix: Matrix): 0 | 1 {
  return matrix.servers.every((server) => server.report && exitCodeFor(server.report) === 0) ? 0 : 1;
}

// --- A snapshot that does not churn ---------------------------------------------------------------------------

export interface StableContext {
  name: string;
  version: string;
  /** The port the server listened on for this run. */
  port: number;
  /** This machine's name, which servers put in SERVER_NAME and the like. */
  hostname: string;
  /** The TLS client settings behind this process's ClientHellos: chosen at random, named in evidence labels. */
  tlsVariants: string[];
}

async function helloVariants(): Promise<{ tlsVariants: string[] }> {
  const hellos = await Promise.allSettled([clientHelloWithLineFeed(), clientHelloWithoutLineFeed()]);
  return { tlsVariants: hellos.flatMap((hello) => (hello.status === 'fulfilled' ? [hello.value.variant] : [])) };
}

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
/** Values that differ on every run, each with what stands in for it. Applied to text and to wire bytes alike. */
const VOLATILE: ReadonlyArray<readonly [RegExp, string]> = [
  // HTTP-dates (Date, Last-Modified, Expires), and log time stamps in the shapes servers print.
  [new RegExp(`(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} (?:${MONTHS}) \\d{4} \\d{2}:\\d{2}:\\d{2} GMT`, 'g'), '{date}'],
  [new RegExp(`\\d{2}/(?:${MONTHS})/\\d{4}[ :]\\d{2}:\\d{2}:\\d{2}(?: [+-]\\d{4})?`, 'g'), '{time}'],
  [/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '{time}'],
  // The client's own ports: after a loopback address (`127.0.0.1:40738`, Python's `('127.0.0.1', 40738)`), and as probes report them.
  [/(127\.0\.0\.1|::1)(['"]?,\s*|\]?:)\d{2,5}(?!\d)/g, '$1$2{port}'],
  [/("REMOTE_PORT":)"?\d+"?/g, '$1"{port}"'],
  // mod_wsgi's per-request and per-process counters and clocks.
  [/("mod_wsgi\.(?:request_id|request_start|script_start|thread_id|thread_requests|total_requests)":)("[^"]*"|\d+)/g, '$1"{volatile}"'],
];

/**
 * A word (a run without white space) that is mostly non-text: raw control or high bytes, or their escapes as servers
 * echo them (`\x16`, `\u0016`). Random bytes echoed back (a TLS ClientHello in an error page) read as such words.
 */
const BINARY_UNIT = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}/g;
const BINARY_MIN_UNITS = 4;
const BINARY_DENSITY = 0.3;
const BINARY = '{binary}';

function collapseBinary(text: string): string {
  const words = text.replace(/[^\s]+/g, (word) => {
    const units = word.match(BINARY_UNIT)?.length ?? 0;
    const length = word.replace(BINARY_UNIT, '.').length;
    return units >= BINARY_MIN_UNITS && units / length >= BINARY_DENSITY ? BINARY : word;
  });
  // Random bytes hold white space too: placeholders with at most short words between them are one run.
  return words.replace(/\{binary\}(?:\s+(?:\S{1,3}\s+)*\{binary\})+/g, BINARY);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function stableText(text: string, context: StableContext): string {
  let stable = text;
  for (const variant of context.tlsVariants) stable = stable.split(variant).join('{TLS client settings}');
  stable = stable.replace(new RegExp(`(?<![0-9])${context.port}(?![0-9])`, 'g'), '{port}');
  for (const [pattern, replacement] of VOLATILE) stable = stable.replace(pattern, replacement);
  if (context.hostname) stable = stable.replace(new RegExp(`(?<![\\w.-])${escapeRegExp(context.hostname)}(?![\\w-])`, 'g'), '{hostname}');
  return collapseBinary(stable);
}

/** Enough of each connection to see what happened; the rest is left out of the snapshot (a live run's JSON has it). */
const SNAPSHOT_EVIDENCE_MAX_BYTES = 4096;

function stableBytes(bytes: Buffer, context: StableContext): Buffer {
  const kept = bytes.subarray(0, SNAPSHOT_EVIDENCE_MAX_BYTES);
  const cut = bytes.length - kept.length;
  const text = stableText(kept.toString('latin1'), context) + (cut > 0 ? `…{${cut} more bytes}` : '');
  return Buffer.from(text, 'latin1');
}

/** A TLS handshake record (SSL 3.0 to TLS 1.3): random from its sixth byte on, so only its size is kept. */
function isTlsRecord(bytes: Buffer): boolean {
  return bytes.length >= 5 && bytes[0] === 0x16 && bytes[1] === 0x03 && bytes[2]! <= 0x04;
}

function stableEvidence(evidence: Evidence, context: StableContext): Evidence {
  return {
    label: stableText(evidence.label, context),
    sent: isTlsRecord(evidence.sent) ? Buffer.from(`{a TLS ClientHello of ${evidence.sent.length} bytes}`) : stableBytes(evidence.sent, context),
    received: stableBytes(evidence.received, context),
    close: evidence.close,
  };
}

function keepsEvidence(verdict: Verdict): boolean {
  return verdict !== 'pass' && verdict !== 'skip';
}

/**
 * The report as the committed snapshot holds it: no timings, dates, ports or random bytes, and evidence only for
 * results a reader must look into. Verdicts, scoring and the manifest's reasons are untouched.
 */
export function stabilise(report: RunReport, context: StableContext): RunReport {
  const text = (value: string): string => stableText(value, context);
  const results = report.results.map(
    (record): CheckRecord => ({
      ...record,
      expected: text(record.expected),
      actual: text(record.actual),
      ...(record.reason !== undefined && { reason: text(record.reason) }),
      evidence: keepsEvidence(record.verdict) ? record.evidence.map((evidence) => stableEvidence(evidence, context)) : [],
      durationMs: 0,
    }),
  );
  return {
    ...report,
    target: context.version ? `${context.name} (${context.version})` : context.name,
    endpoint: { host: report.endpoint.host, port: 0 },
    started: '',
    finished: '',
    wallMs: 0,
    death: report.death && { after: report.death.after, detail: text(report.death.detail) },
    results,
  };
}

/**
 * What a report says, for deciding whether a snapshot changed: the server and its version, how it was run, and each
 * requirement's verdict, scoring, manifest entry and wording. What was seen is left out: evidence bytes, and the words
 * for them, carry what differs between two runs with the same outcome (a random path, an echoed random ClientHello,
 * a close seen as FIN one time and as a reset the next), so a snapshot from an earlier run with the same outcomes stays.
 * Digits in the wording are masked, as some requirements word their own sizes.
 */
export function reportMeaning(report: RunReport): string {
  const mask = (text: string): string => text.replace(/\d+/g, '#');
  return JSON.stringify({
    target: report.target,
    profiles: report.profiles,
    mode: report.mode,
    strict: report.strict,
    probe: report.probe,
    log: report.log,
    manifest: report.manifest,
    death: report.death?.after ?? null,
    results: report.results.map((r) => [r.id, r.title, r.level, r.verdict, r.scored, r.expectation ?? null, mask(r.expected)]),
  });
}

/** A JSON report read back (a snapshot written earlier); the flags are not in the JSON, so the caller gives them. */
export function reportFromJson(json: JsonReport, targetFlags: string[]): RunReport {
  const { total: _total, exitCode: _exitCode, failing: _failing, ...counts } = json.summary;
  return {
    tool: json.tool,
    target: json.target,
    endpoint: json.endpoint,
    targetFlags,
    profiles: json.profiles,
    strict: json.strict,
    mode: json.mode,
    probe: json.probe,
    log: json.log,
    manifest: json.manifest,
    started: json.started,
    finished: json.finished,
    wallMs: json.wallMs,
    counts,
    death: json.death,
    // Spread first, so every key keeps its place and the report renders back to the same text.
    results: json.results.map(({ rerun: _rerun, ...record }) => ({
      ...record,
      evidence: record.evidence.map(({ label, sentBase64, receivedBase64, close }) => ({
        label,
        sent: Buffer.from(sentBase64, 'base64'),
        received: Buffer.from(receivedBase64, 'base64'),
        close,
      })),
    })),
  };
}

// --- Writing the snapshot -------------------------------------------------------------------------------------

export interface WrittenMatrix {
  files: string[];
  /** The servers whose snapshot says something new (a verdict, its words, a version); the others kept their files. */
  changed: string[];
}

/**
 * Writes per-server TAP and JSON, index.md and index.html into `dir`, and removes reports of servers no longer in
 * it. A server whose snapshot in `dir` already says the same (`reportMeaning`) keeps it, bytes and all, and the index
 * is built from it, so a rerun that changes nothing leaves the folder as it was.
 */
export async function writeMatrix(matrix: Matrix, dir: string): Promise<WrittenMatrix> {
  const files = new Map<string, string>();
  const changed: string[] = [];
  const servers: MatrixServer[] = [];
  for (const server of matrix.servers) {
    const earlier = server.report && (await readSnapshot(join(dir, `${server.name}.json`), server.targetFlags));
    if (server.report && earlier && reportMeaning(earlier) === reportMeaning(server.report)) {
      servers.push({ ...server, report: earlier });
      continue;
    }
    if (server.report) changed.push(server.name);
    servers.push(server);
  }
  const written = { ...matrix, servers };
  for (const server of servers) {
    if (!server.report) continue;
    files.set(`${server.name}.tap`, renderTap(server.report));
    files.set(`${server.name}.json`, renderJson(server.report));
  }
  files.set('index.md', renderMatrixMarkdown(written));
  files.set('index.html', renderMatrixHtml(written));
  if (existsSync(dir)) {
    for (const entry of await readdir(dir)) {
      if (/\.(tap|json)$/.test(entry) && !files.has(entry)) await rm(join(dir, entry));
    }
  }
  for (const [name, text] of files) {
    const path = join(dir, name);
    if (!existsSync(path) || (await readFile(path, 'utf8')) !== text) await writeFileAtomic(path, text);
  }
  return { files: [...files.keys()].map((name) => join(dir, name)), changed };
}

/** A snapshot written earlier, or null when there is none or it cannot be read as a JSON report. */
async function readSnapshot(path: string, targetFlags: string[]): Promise<RunReport | null> {
  try {
    return reportFromJson(JSON.parse(await readFile(path, 'utf8')) as JsonReport, targetFlags);
  } catch {
    return null;
  }
}

function caption(server: MatrixServer): string {
  return `${server.version ?? 'not installed'} · ${server.mode} · ${server.profiles.join(', ')}`;
}

export function renderMatrixHtml(matrix: Matrix): string {
  const columns: HtmlColumn[] = matrix.servers.map((server) => ({
    name: server.name,
    caption: caption(server),
    report: server.report,
    problem: server.problem,
  }));
  return renderHtmlPage({
    title: `${matrix.tool.name} conformance matrix`,
    intro: [
      `${matrix.servers.length} servers × ${matrix.requirements.length} requirements, each server checked on the profiles that apply to it, ` +
        'with its expectation manifest (xfail: a known deviation, with its reason; xpass: a deviation that went away). Regenerate with: npm run matrix.',
      'Ports, dates, timings and random bytes are blanked ({port}, {date}, {binary}…) so that this page changes only when a verdict or a version does.',
    ],
    requirements: matrix.requirements,
    columns,
  });
}

const CELL: Readonly<Record<Verdict, string>> = { pass: 'pass', fail: '**FAIL**', error: '**ERROR**', skip: 'skip', xfail: 'xfail', xpass: '**XPASS**' };
const NOT_RUN_CELL = '·';

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

function anchorOf(server: string, id: string): string {
  return `${server}-${id}`.toLowerCase();
}

/** A code fence longer than any run of backticks in `text`, so the text cannot end it. */
function fenced(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}\n${text}\n${fence}`;
}

function gateSummary(server: MatrixServer): string {
  if (!server.report) return `did not run: ${markdownCell(server.problem ?? 'unknown')}`;
  if (exitCodeFor(server.report) === 0) return 'green (exit 0)';
  const failing = failingResults(server.report).map((record) => `${record.id} (${record.verdict})`);
  return `**red** (exit 1)${failing.length > 0 ? `: ${failing.join(', ')}` : ''}${server.report.death ? `; the server died after ${server.report.death.after}` : ''}`;
}

function countsText(report: RunReport): string {
  return VERDICTS.filter((verdict) => report.counts[verdict] > 0)
    .map((verdict) => `${report.counts[verdict]} ${verdict}`)
    .join(', ');
}

export function renderMatrixMarkdown(matrix: Matrix): string {
  const lines: string[] = [
    `# ${matrix.tool.name} conformance matrix`,
    '',
    `${matrix.servers.length} servers × ${matrix.requirements.length} requirements. Each server runs the checks of the profiles that apply to it`,
    `(\`django\`, \`wsgi\`, \`rfc\`), gated by its expectation manifest: \`xfail\` is a known deviation with its reason, \`XPASS\` a deviation`,
    'that went away (it fails the gate, so the manifest gets updated), `·` a requirement outside the server\'s profiles.',
    'Generated by `npm run matrix`; ports, dates, timings and random bytes are blanked ({port}, {date}, {binary}…), so this',
    'snapshot changes only when a verdict or a version does. The same table, filterable: [index.html](index.html).',
    '',
    '## Servers',
    '',
    '| server | version | mode | profiles | results | gate | reports |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const server of matrix.servers) {
    const reports = server.report ? `[TAP](${server.name}.tap) · [JSON](${server.name}.json)` : '';
    lines.push(
      `| ${server.name} | ${markdownCell(server.version ?? 'not installed')} | ${server.mode} | ${server.profiles.join(', ')} | ` +
        `${server.report ? countsText(server.report) : ''} | ${gateSummary(server)} | ${reports} |`,
    );
  }
  lines.push('', 'Each gate, from the repository root (`h1spec run` exits 0 when the server is exactly as its manifest says):', '');
  lines.push(fenced(matrix.servers.map(gateCommand).join('\n')));

  const resultsByServer = matrix.servers.map((server) => new Map((server.report?.results ?? []).map((record) => [record.id, record])));
  lines.push('', '## Results', '');
  for (const { area, items } of groupByArea(matrix.requirements, (requirement) => requirement.id)) {
    lines.push(`### ${areaLabel(area)}`, '');
    lines.push(`| ID | level | ${matrix.servers.map((server) => server.name).join(' | ')} |`);
    lines.push(`|---|---|${matrix.servers.map(() => '---').join('|')}|`);
    for (const requirement of items) {
      const cells = matrix.servers.map((server, index) => {
        const record = resultsByServer[index]!.get(requirement.id);
        if (!record) return NOT_RUN_CELL;
        return keepsEvidence(record.verdict) ? `[${CELL[record.verdict]}](#${anchorOf(server.name, record.id)})` : CELL[record.verdict];
      });
      lines.push(`| ${requirement.id} | ${requirement.level} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }

  lines.push('## Evidence', '', 'Every result that is not a pass or a skip, with where to find its bytes.', '');
  for (const server of matrix.servers) {
    const points = (server.report?.results ?? []).map((record, index) => ({ record, testPoint: index + 1 })).filter(({ record }) => keepsEvidence(record.verdict));
    if (points.length === 0) continue;
    lines.push(`### ${server.name}`, '');
    for (const { record, testPoint } of points) lines.push(...markdownEvidence(server.name, record, testPoint));
  }
  return lines.join('\n') + '\n';
}

function markdownEvidence(server: string, record: CheckRecord, testPoint: number): string[] {
  const lines = [`<a id="${anchorOf(server, record.id)}"></a>**${record.id}** (${record.level}) — ${CELL[record.verdict]}: ${markdownCell(record.title)}`, ''];
  if (record.expectation) lines.push(`- manifest: expected ${record.expectation.verdict}: ${markdownCell(record.expectation.reason)}`);
  if (record.expected) lines.push(`- expected: ${markdownCell(record.expected)}`);
  if (record.actual) lines.push(`- actual: ${markdownCell(record.actual)}`);
  if (record.reason) lines.push(`- reason: ${markdownCell(record.reason)}`);
  if (record.evidence.length > 0) lines.push(`- bytes: [${server}.tap](${server}.tap), test point ${testPoint}`);
  lines.push('');
  return lines;
}
