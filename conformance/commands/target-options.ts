/**
 * How every command that talks to a server gets one: `--target HOST:PORT` (already running), `--spawn CMD` (started
 * and stopped by the harness), or neither (the embedded reference server), plus the option parsers and the error
 * wrapping the commands share. Extracted from the run command so fuzz and diff resolve targets exactly as run does.
 */
import { InvalidArgumentError } from 'commander';
import type { ServerMode } from '../catalogue/types.ts';
import { CliError } from '../cli-error.ts';
import type { RunningTarget } from '../targets/types.ts';
import type { Endpoint } from '../wire/types.ts';

export interface TargetFlags {
  target?: Endpoint & { text: string };
  spawn?: string;
  mode: ServerMode;
  ipv6: boolean;
}

type ErrorClass = new (...args: never[]) => Error;

/** Runs `work`, turning the expected failures it may raise into one-line CLI errors; anything else is a bug and stays so. */
export async function reportedAs<T>(kinds: ErrorClass[], work: () => T | Promise<T>, prefix = ''): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (kinds.some((kind) => err instanceof kind)) throw new CliError(prefix + (err as Error).message);
    throw err;
  }
}

/** Owns what the run started: stops it when the run ends, fails, or the process is told to stop. */
export class TargetLifecycle {
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

/**
 * `onThread`: serve the embedded reference from a worker thread (for fuzzing, where both sides are CPU-bound); it
 * then has no log the checks can read.
 */
export async function startTarget(flags: TargetFlags, options: { onThread?: boolean } = {}): Promise<RunningTarget> {
  if (flags.target) return givenTarget(flags.target);
  if (flags.spawn !== undefined) {
    const { spawnTarget } = await import('../targets/spawn.ts');
    return spawnTarget(flags.spawn, {});
  }
  const embedded = { mode: flags.mode, host: flags.ipv6 ? '::1' : '127.0.0.1' };
  if (options.onThread) {
    const { startReferenceThread } = await import('../fuzz/reference-thread.ts');
    return startReferenceThread(embedded);
  }
  // Loaded on demand: --target and --spawn runs (and --list) never need the reference server in memory.
  const { startEmbeddedReference } = await import('../targets/embedded.ts');
  return startEmbeddedReference(embedded);
}

export function givenTarget(target: Endpoint & { text: string }): RunningTarget {
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
export function targetFlags(flags: TargetFlags): string[] {
  const reach = flags.target
    ? ['--target', flags.target.text]
    : flags.spawn !== undefined
      ? ['--spawn', flags.spawn]
      : flags.ipv6
        ? ['--ipv6']
        : [];
  return flags.mode === 'serial' ? [...reach, '--mode', 'serial'] : reach;
}

export function parseHostPort(text: string): Endpoint & { text: string } {
  const match = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text);
  if (!match) throw new InvalidArgumentError('Expected HOST:PORT (IPv6 in brackets: [::1]:8000).');
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new InvalidArgumentError('The port must be from 1 to 65535.');
  return { host: match[1]!, port, text };
}

export function positiveInteger(max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > max) {
      throw new InvalidArgumentError(`Expected a whole number from 1 to ${max}.`);
    }
    return value;
  };
}
