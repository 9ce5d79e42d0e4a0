import type { Endpoint } from '../wire/types.ts';

export type Profile = 'django' | 'wsgi' | 'rfc';
export type Level = 'MUST' | 'SHOULD' | 'MAY';
/** What a check itself can decide; xfail/xpass are assigned later by an expectation manifest. */
export type CheckVerdict = 'pass' | 'fail' | 'skip' | 'error';
export type Verdict = CheckVerdict | 'xfail' | 'xpass';
export type ServerMode = 'threaded' | 'serial';

export interface Needs {
  /** The target must serve the probe application of SPEC's probe contract. */
  probe?: boolean;
  /** The harness must own the target's log (spawned or embedded targets). */
  log?: boolean;
  /** The check only applies to a target running in this mode. */
  mode?: ServerMode;
  /** The check must not overlap with any other check (it holds the server, or reads the log). */
  exclusive?: boolean;
}

/** Bytes of one connection kept as evidence in reports. */
export interface Evidence {
  label: string;
  sent: Buffer;
  received: Buffer;
  close: string;
}

export interface CheckResult {
  verdict: CheckVerdict;
  /** What the requirement accepts, in words (every acceptable outcome). */
  expected: string;
  /** What was observed; for a pass, which acceptable outcome was seen. */
  actual: string;
  evidence: Evidence[];
}

/** The lines the target wrote to its stdout/stderr while the current check ran. */
export interface LogWindow {
  /** Waits until the log has been quiet briefly (bounded), then returns the lines seen since the check started. */
  lines(): Promise<string[]>;
}

export interface CheckContext {
  endpoint: Endpoint;
  /** Upper bound for any single wait inside the check; a wait that reaches it makes the check `error`, not `fail`. */
  timeoutMs: number;
  mode: ServerMode;
  /** Whether the target answers with the probe contract. */
  probe: boolean;
  log: LogWindow | null;
}

export interface Requirement {
  id: string;
  title: string;
  profiles: Profile[];
  level: Level;
  /** The code or RFC section the behaviour comes from. */
  source: string;
  needs: Needs;
  check(ctx: CheckContext): Promise<CheckResult>;
}
