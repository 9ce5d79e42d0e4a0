/**
 * Starts a server whose configuration must name its port and its own paths (nginx, lighttpd, apache2):
 *
 *   node --import tsx conformance/probes/with-config.ts TEMPLATE_DIR PORT SERVER [ARGS...]
 *
 * copies TEMPLATE_DIR into a fresh temporary folder, filling in `{port}`, `{dir}` (that folder) and `{repo}` (the
 * repository root) in every file and in SERVER's arguments, runs SERVER in the foreground with this process's output,
 * and removes the folder once SERVER has exited. So a peer recipe stays one shell command that `h1spec run --spawn`
 * can take as it is.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
/**
 * Every copied file gets this modification time, so validators servers derive from it (ETag, Last-Modified) come
 * out the same on every run and the matrix snapshot does not churn.
 */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
const SIGNAL_EXIT_BASE = 128;

export interface Placeholders {
  port: string;
  dir: string;
  repo: string;
}

export function fillIn(text: string, values: Placeholders): string {
  return text.replaceAll('{port}', values.port).replaceAll('{dir}', values.dir).replaceAll('{repo}', values.repo);
}

/** Copies the template tree into `dir` with its placeholders filled in; `dir` is made readable by a server's unprivileged workers. */
export function materialise(templateDir: string, values: Placeholders): void {
  cpSync(templateDir, values.dir, { recursive: true });
  // mkdtemp makes 0700 folders: nginx's and apache's workers drop root and must still reach the files.
  chmodSync(values.dir, 0o755);
  const visit = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        visit(path);
        continue;
      }
      writeFileSync(path, fillIn(readFileSync(path, 'utf8'), values));
      utimesSync(path, FIXED_MTIME, FIXED_MTIME);
    }
  };
  visit(values.dir);
}

function main(argv: string[]): void {
  const [templateArg, port, server, ...args] = argv;
  if (templateArg === undefined || port === undefined || !/^\d+$/.test(port) || server === undefined) {
    process.stderr.write('usage: with-config.ts TEMPLATE_DIR PORT SERVER [ARGS...]\n');
    process.exit(2);
  }
  const templateDir = resolve(templateArg);
  const dir = mkdtempSync(join(tmpdir(), `h1spec-${basename(templateDir)}-`));
  const values: Placeholders = { port, dir, repo: REPO_ROOT };
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    materialise(templateDir, values);
  } catch (err) {
    removeDir();
    process.stderr.write(`with-config: cannot prepare ${templateDir}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const child = spawn(server, args.map((arg) => fillIn(arg, values)), { stdio: 'inherit' });
  // The harness signals the whole process group; a signal sent to this process alone must still reach the server.
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    removeDir();
    process.stderr.write(`with-config: cannot start ${server}: ${err.message}\n`);
    process.exit(2);
  });
  child.on('exit', (code, signal) => {
    removeDir();
    // A shell reports a command killed by a signal as 128 + the signal's number; do the same for the server.
    process.exit(code ?? SIGNAL_EXIT_BASE + (signal ? constants.signals[signal] : 0));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
