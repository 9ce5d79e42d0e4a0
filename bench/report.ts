/**
 * The Markdown summary of one `npm run bench`: a table per section and the issue's targets with whether each held,
 * every ratio taken between figures of the same run.
 */
import type { FuzzReport } from './fuzz.ts';
import type { HarnessReport } from './harness.ts';
import type { ParserReport } from './parser.ts';
import type { ScaleReport } from './scale.ts';
import type { ThroughputReport, ThroughputRow } from './throughput.ts';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  /** 1-minute load average when the run began: other work on the machine lowers every rate. */
  loadAverage: number;
  started: string;
}

export interface BenchResults {
  machine: Machine;
  throughput?: ThroughputReport;
  harness?: HarnessReport;
  fuzz?: FuzzReport;
  scale?: ScaleReport;
  parser?: ParserReport;
  /** Sections that could not be measured, with why. */
  errors: Record<string, string>;
}

export interface Target {
  section: string;
  goal: string;
  measured: string;
  holds: boolean;
}

const MB = 1e6;

function fixed(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';
}

function ratio(value: number): string {
  return `${fixed(value, 2)}×`;
}

/** A size in binary units, as uploads are sized. */
function binarySize(bytes: number): string {
  return bytes >= 2 ** 30 ? `${fixed(bytes / 2 ** 30, 1)} GiB` : `${fixed(bytes / 2 ** 20)} MiB`;
}

function megabytes(bytes: number): string {
  return `${fixed(bytes / MB, 1)} MB`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function rowOf(report: ThroughputReport, server: string, mode: ThroughputRow['mode']): ThroughputRow {
  const row = report.rows.find((r) => r.server === server && r.mode === mode);
  if (!row) throw new Error(`no ${mode} row for ${server}`);
  return row;
}

export function targetsOf(results: BenchResults): Target[] {
  const targets: Target[] = [];
  const { throughput, harness, fuzz, scale } = results;
  if (throughput) {
    for (const mode of ['keep-alive', 'close'] as const) {
      const row = rowOf(throughput, 'reference', mode);
      const what = mode === 'keep-alive' ? 'keep-alive' : 'connection per request';
      targets.push({ section: 'throughput', goal: `reference ≥ 0.8× node:http, ${what}`, measured: ratio(row.vsNodeHttp), holds: row.vsNodeHttp >= 0.8 });
    }
    const segments = throughput.segmentsPerResponse['reference'] ?? NaN;
    targets.push({ section: 'throughput', goal: 'reference sends a response (head and body) in one segment', measured: `${fixed(segments, 2)} segments per response`, holds: segments === 1 });
  }
  if (harness) {
    const reference = harness.targets[0]!;
    targets.push({ section: 'harness', goal: 'django profile against the reference ≥ 500 checks/s', measured: `${fixed(reference.checksPerSecond)} checks/s`, holds: reference.checksPerSecond >= 500 });
    targets.push({ section: 'harness', goal: 'whole django profile against the reference < 1 s', measured: `${fixed(reference.bestMs)} ms`, holds: reference.bestMs < 1000 });
  }
  if (fuzz) {
    targets.push({ section: 'fuzz', goal: '`h1spec fuzz` ≥ 3,000 exchanges/s', measured: `${fixed(fuzz.exchangesPerSecond)}/s`, holds: fuzz.exchangesPerSecond >= 3000 });
    targets.push({ section: 'fuzz', goal: "≥ 0.5× wrk's connection-per-request rate, same target", measured: ratio(fuzz.vsWrk), holds: fuzz.vsWrk >= 0.5 });
  }
  if (scale) {
    const idle = scale.idle[0]!;
    targets.push({ section: 'scale', goal: `RSS ≤ 150 MB with ${fixed(idle.connections)} idle keep-alive connections`, measured: megabytes(idle.rssBytes), holds: idle.rssBytes <= 150 * MB });
    const upload = scale.upload[0]!;
    targets.push({ section: 'scale', goal: `RSS growth ≤ 32 MB streaming a ${binarySize(upload.bytes)} upload`, measured: megabytes(upload.growthBytes), holds: upload.growthBytes <= 32 * MB });
  }
  return targets;
}

function throughputSection(report: ThroughputReport): string {
  const { connections, durationSeconds, rounds } = report.options;
  const servers = [...new Set(report.rows.map((r) => r.server))];
  const rows = servers.map((server) => {
    const keepAlive = rowOf(report, server, 'keep-alive');
    const close = rowOf(report, server, 'close');
    return [
      keepAlive.label,
      fixed(keepAlive.requestsPerSecond),
      ratio(keepAlive.vsNodeHttp),
      fixed(keepAlive.cpuMicrosPerRequest, 1),
      fixed(close.requestsPerSecond),
      ratio(close.vsNodeHttp),
      fixed(close.cpuMicrosPerRequest, 1),
      fixed(report.segmentsPerResponse[server] ?? NaN, 2),
    ];
  });
  return [
    `### 1. Throughput (wrk, 1 thread, ${connections} connections, best of ${rounds} rounds of ${durationSeconds} s, servers alternating)`,
    '',
    table(['server', 'keep-alive req/s', '× node:http', 'server CPU µs/req', 'connection-per-request req/s', '× node:http', 'server CPU µs/req', 'data segments per response'], rows),
    '',
    'CPU per request is the server process\'s user+system time over all its rounds (from /proc), divided by the requests answered: it moves far less than a rate when the machine is busy. ' +
      'Data segments per response are the kernel\'s count (`ss -ti`, data_segs_out) over 10 keep-alive requests. ' +
      'With one connection per request, wrk counts a read error whenever a server closes without saying `Connection: close` (Django and the reference, as Django does): wrk had already written its next request there; these are not failures and are not counted.',
  ].join('\n');
}

function harnessSection(report: HarnessReport): string {
  const rows = report.targets.map((t) => [
    t.target,
    String(t.checks),
    `${fixed(t.bestMs)} ms`,
    fixed(t.checksPerSecond),
    t.runsMs.map((ms) => fixed(ms)).join(' / '),
    `${fixed(t.aloneMs)} ms (${t.aloneChecks})`,
    `${fixed(t.serialMs)} ms`,
    t.slowest.map((s) => `${s.id} ${s.durationMs} ms`).join(', '),
  ]);
  return [
    `### 2. Harness speed (django profile, \`runChecks\` with \`h1spec run\`'s defaults: concurrency ${report.options.concurrency}, timeout ${report.options.timeoutMs} ms)`,
    '',
    table(['target', 'checks', 'wall (best run)', 'checks/s', 'runs (ms)', 'checks run alone', 'sum of check durations', 'slowest checks'], rows),
    '',
    'Checks that read the log run alone, one after another, each waiting for the log to be quiet for 50 ms (and LOG-LEVELS for a 100 ms hang-up pause): their time adds up and is a floor under the wall time. The rest run ' +
      `${report.options.concurrency} at a time; more would not help against these targets, whose listen backlog is Django's 10: a burst of connections beyond it has SYNs dropped and retried a second later.`,
  ].join('\n');
}

function fuzzSection(report: FuzzReport): string {
  return [
    `### 3. Fuzz rate (\`h1spec fuzz --time ${report.options.seconds}s\` against a spawned \`h1spec serve --app probe\`)`,
    '',
    table(
      ['exchanges/s', 'cases', 'wrk connection-per-request req/s (same server)', '× wrk', 'harness CPU (cores)', 'target CPU (cores)', "harness's share of CPU", 'findings', 'exchanges/s, own target (reference on a thread)'],
      [
        [
          fixed(report.exchangesPerSecond),
          fixed(report.runs),
          fixed(report.wrkCloseRequestsPerSecond),
          ratio(report.vsWrk),
          fixed(report.harnessCores, 2),
          fixed(report.targetCores, 2),
          `${fixed(report.harnessShare * 100)} %`,
          String(report.findings),
          fixed(report.ownTargetExchangesPerSecond),
        ],
      ],
    ),
  ].join('\n');
}

function scaleSection(report: ScaleReport): string {
  const curveRows = report.curves.map((curve) => [
    curve.dimension,
    curve.points.map((p) => `${fixed(p.x, p.x < 1 ? 2 : 0)}: ${fixed(p.cpuMicrosPerRequest, 1)} µs (${fixed(p.requestsPerSecond)}/s)`).join('; '),
    `${fixed(curve.fit.slope, 2)} µs per ${curve.unit}`,
    fixed(curve.fit.r2, 2),
  ]);
  return [
    '### 4. Memory and scale (each server its own process; the reference as `h1spec serve`)',
    '',
    table(
      ['measure', 'baseline RSS', 'RSS', 'growth', 'detail'],
      [
        ...report.idle.map((idle) => [
          `${idle.label}: ${fixed(idle.connections)} idle keep-alive connections`,
          megabytes(idle.baselineRssBytes),
          megabytes(idle.rssBytes),
          megabytes(idle.rssBytes - idle.baselineRssBytes),
          `${fixed(idle.perConnectionBytes)} bytes per connection; opened in ${fixed(idle.openSeconds, 1)} s`,
        ]),
        ...report.upload.map((upload) => [
          `${upload.label}: ${binarySize(upload.bytes)} upload; the application answers having read at most 64 KiB, the server discards the rest`,
          megabytes(upload.baselineRssBytes),
          `${megabytes(upload.peakRssBytes)} (peak)`,
          megabytes(upload.growthBytes),
          `${fixed(upload.megabytesPerSecond)} MB/s; status ${upload.status}; next request ${upload.nextAnswered ? 'answered' : 'not answered'}`,
        ]),
      ],
    ),
    '',
    `Server CPU per request as one dimension grows (wrk keep-alive, ${report.options.connections} connections, ${report.options.pointSeconds} s per point; x in the slope's unit):`,
    '',
    table(['dimension', 'points (x: CPU per request, rate)', 'slope', 'R²'], curveRows),
  ].join('\n');
}

function parserSection(report: ParserReport): string {
  return [
    '### 5. Request parsing in-process (request line and head, fixed corpus)',
    '',
    table(
      ['parser', 'requests/s', 'MB/s'],
      [
        ['reference (`parseRequest`: CPython 3.11 rules, Django 3.2)', fixed(report.requestsPerSecond), fixed(report.megabytesPerSecond, 1)],
        [`llhttp, published (${report.llhttp.source}), for scale`, fixed(report.llhttp.requestsPerSecond), fixed(report.llhttp.megabytesPerSecond)],
      ],
    ),
    '',
    `Corpus: ${report.corpus.map((c) => `${c.name} (${c.bytes} bytes)`).join(', ')}.`,
  ].join('\n');
}

export function renderMarkdown(results: BenchResults): string {
  const { machine } = results;
  const parts = [
    '## Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${machine.started.slice(0, 10)}: ${machine.cpus} × ${machine.cpuModel}, ${fixed(machine.memoryGiB)} GiB, Node ${machine.node}, load average ${fixed(machine.loadAverage, 2)} at the start. Loopback only; every comparison below was taken in the same run.`,
    '',
    '### Targets',
    '',
    table(
      ['section', 'target', 'measured', 'holds'],
      targetsOf(results).map((t) => [t.section, t.goal, t.measured, t.holds ? 'yes' : '**no**']),
    ),
  ];
  if (results.throughput) parts.push('', throughputSection(results.throughput));
  if (results.harness) parts.push('', harnessSection(results.harness));
  if (results.fuzz) parts.push('', fuzzSection(results.fuzz));
  if (results.scale) parts.push('', scaleSection(results.scale));
  if (results.parser) parts.push('', parserSection(results.parser));
  const errors = Object.entries(results.errors);
  if (errors.length > 0) parts.push('', '### Not measured', '', ...errors.map(([section, why]) => `- ${section}: ${why}`));
  return parts.join('\n') + '\n';
}
