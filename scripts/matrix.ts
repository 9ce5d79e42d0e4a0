/**
 * `npm run matrix`: installs the peer servers that are missing (scripts/install-peers.sh), runs every server of
 * conformance/targets/peers.ts against the catalogue, and writes the snapshot to reports/matrix/.
 *
 *   npm run matrix                       every server, into reports/matrix/
 *   npm run matrix -- --server gunicorn  just these (repeatable), into reports/matrix-partial/ unless --out says
 *   npm run matrix -- --no-install       do not run the installer
 *   npm run matrix -- --draft            also print, on stdout, the manifest entries each red gate lacks
 *
 * Exit status: 0 when every server ran and is exactly as its manifest says; 1 otherwise (the reports are written
 * either way); 2 for bad usage.
 */
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { manifestDraft, matrixExitCode, runMatrix, writeMatrix, type MatrixServer } from '../conformance/matrix.ts';
import { exitCodeFor, failingResults, VERDICTS } from '../conformance/runner.ts';
import { peers, REPO_ROOT, type PeerRecipe } from '../conformance/targets/peers.ts';

const USAGE = 'usage: npm run matrix -- [--server NAME]... [--out DIR] [--no-install] [--draft]';

function fail(message: string): never {
  process.stderr.write(`matrix: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse(argv: string[]): { recipes: PeerRecipe[]; out: string; install: boolean; draft: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        server: { type: 'string', multiple: true, default: [] },
        out: { type: 'string' },
        'no-install': { type: 'boolean', default: false },
        draft: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  const names = values.server;
  const unknown = names.find((name) => !peers.some((peer) => peer.name === name));
  if (unknown !== undefined) fail(`unknown server "${unknown}" (servers: ${peers.map((peer) => peer.name).join(', ')})`);
  const recipes = names.length > 0 ? peers.filter((peer) => names.includes(peer.name)) : [...peers];
  // A partial run must not overwrite the committed full snapshot by accident.
  const out = values.out ?? join(REPO_ROOT, names.length > 0 ? 'reports/matrix-partial' : 'reports/matrix');
  return { recipes, out, install: !values['no-install'], draft: values.draft };
}

function install(): void {
  const run = spawnSync('sh', [join(REPO_ROOT, 'scripts/install-peers.sh')], { stdio: 'inherit', timeout: 30 * 60_000 });
  if (run.status !== 0) process.stderr.write('matrix: scripts/install-peers.sh failed; servers that are missing will show as such\n');
}

function describe(server: MatrixServer, wallMs: number): string {
  const seconds = `${(wallMs / 1000).toFixed(1)} s`;
  if (!server.report) return `${server.name}: did not run (${seconds}): ${server.problem}`;
  const report = server.report;
  const counts = VERDICTS.filter((verdict) => report.counts[verdict] > 0).map((verdict) => `${report.counts[verdict]} ${verdict}`);
  const failing = failingResults(report).map((record) => `${record.id} (${record.verdict})`);
  const gate = exitCodeFor(report) === 0 ? 'gate green' : `gate RED: ${failing.join(', ') || `the server died after ${report.death?.after}`}`;
  return `${server.name} (${server.version}): ${counts.join(', ')}; ${gate} [${seconds}]`;
}

async function main(): Promise<void> {
  const { recipes, out, install: wanted, draft } = parse(process.argv.slice(2));
  if (wanted) install();
  const matrix = await runMatrix(recipes, { onServer: (server, wallMs) => process.stderr.write(`matrix: ${describe(server, wallMs)}\n`) });
  const { files, changed } = await writeMatrix(matrix, out);
  const where = relative(process.cwd(), out) || '.';
  process.stderr.write(`matrix: ${files.length} files in ${where}; ${changed.length > 0 ? `new results for: ${changed.join(', ')}` : 'no server says anything new'}\n`);
  if (draft) process.stdout.write(matrix.servers.map(manifestDraft).filter((text) => text !== null).join('\n'));
  const code = matrixExitCode(matrix);
  if (code !== 0) process.stderr.write('matrix: not every server ran green against its manifest (see above)\n');
  process.exit(code);
}

await main();
