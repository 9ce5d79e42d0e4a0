/**
 * The TypeScript side of test/support/python-oracle.py: real CPython 3.11 and Django 3.2 (`/usr/bin/python3`, not
 * the `python3` on PATH) as the oracle the reference server is checked against.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../../conformance/wire/types.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./python-oracle.py', import.meta.url));
/** A loaded machine can take seconds to import Django; only a hung interpreter takes this long. */
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 5_000;

/** Latin-1 text as the oracle takes it: JSON cannot carry a lone byte, base64 can. */
export function latin1Base64(text: string): string {
  return Buffer.from(text, 'latin1').toString('base64');
}

function spawnPython(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(PYTHON, [SCRIPT, ...args], { stdio: 'pipe' });
}

/** Ends a child by closing its stdin (it exits on EOF), and by its PID if it does not. */
async function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function collectStderr(child: ChildProcessWithoutNullStreams): () => string {
  const chunks: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

/** One long-lived interpreter answering batches of questions in order (`python-oracle.py` without arguments). */
export class PythonOracle {
  private readonly waiting: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  private readonly stderr: () => string;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.stderr = collectStderr(child);
    createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.resolve(line));
    child.on('exit', (code, signal) => {
      const failure = new Error(`the Python oracle exited (${signal ?? code}): ${this.stderr()}`);
      for (const pending of this.waiting.splice(0)) pending.reject(failure);
    });
  }

  static start(): PythonOracle {
    return new PythonOracle(spawnPython([]));
  }

  /** Applies `op` to every input in one round trip; results come back in the same order. */
  async call<Result>(op: string, inputs: readonly unknown[]): Promise<Result[]> {
    const line = await new Promise<string>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify({ op, inputs }) + '\n');
    });
    const reply = JSON.parse(line) as { results?: Result[]; error?: string };
    if (reply.error !== undefined) throw new Error(`oracle ${op}: ${reply.error}`);
    return reply.results!;
  }

  async one<Result>(op: string, input: unknown): Promise<Result> {
    const [result] = await this.call<Result>(op, [input]);
    return result!;
  }

  close(): Promise<void> {
    return stopChild(this.child);
  }
}

/** A `django.server` log record: what the logger was given, at which level. */
export interface LogRecord {
  level: string;
  message: string;
}

/** A server under test, with the log records it has written so far. */
export interface ServingPeer {
  readonly label: string;
  readonly endpoint: Endpoint;
  readonly records: LogRecord[];
  stop(): Promise<void>;
}

/** Real Django 3.2's WSGIServer serving the Python twin of test/support/wsgi-catalogue.ts. */
export async function startDjangoPeer({ threaded, host = '127.0.0.1' }: { threaded: boolean; host?: string }): Promise<ServingPeer> {
  const child = spawnPython(['serve', '--host', host, ...(threaded ? [] : ['--nothreading'])]);
  const stderr = collectStderr(child);
  const records: LogRecord[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Django did not start within ${START_TIMEOUT_MS} ms: ${stderr()}`)), START_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`Django exited (${code}) before serving: ${stderr()}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as { port?: number } & LogRecord;
      if (parsed.port !== undefined) {
        clearTimeout(timer);
        resolve(parsed.port);
      } else {
        records.push({ level: parsed.level, message: parsed.message });
      }
    });
  }).catch(async (err: unknown) => {
    await stopChild(child);
    throw err;
  });
  return {
    label: `Django 3.2 (${threaded ? 'threaded' : '--nothreading'}, ${host})`,
    endpoint: { host, port },
    records,
    stop: () => stopChild(child),
  };
}
