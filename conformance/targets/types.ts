import type { LogWindow } from '../catalogue/types.ts';
import type { Endpoint } from '../wire/types.ts';

/** A target's output, line by line, so each check can see the lines its own requests caused. */
export interface LogSource {
  /** Starts a window: its `lines()` returns what the target logs from now on. */
  window(): LogWindow;
}

/** A server the harness talks to, however it was obtained (given address, spawned command, embedded reference). */
export interface RunningTarget {
  endpoint: Endpoint;
  /** One line for reports: what the target is and how it was started. */
  description: string;
  /** Null when the harness does not own the target's output (`--target HOST:PORT`). */
  log: LogSource | null;
  /** Settles when the target process is gone, with how it ended; never settles for targets the harness does not own. */
  exited: Promise<string>;
  /** Stops what the harness started (by PID for spawned targets); a no-op for `--target`. Idempotent. */
  stop(): Promise<void>;
}
