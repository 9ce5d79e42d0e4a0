/**
 * wrk (Debian's package, installed by bench/install-tools.sh) as the load generator: one thread, a few connections,
 * a fixed duration, its summary read back into numbers. Keep-alive is wrk's default; connection-per-request sends
 * `Connection: close`, and wrk opens a new connection when the server closes the old one.
 */
import { execFile } from 'node:child_process';

export interface WrkOptions {
  url: string;
  connections: number;
  /** Whole seconds. */
  durationSeconds: number;
  /** One connection per request (`Connection: close`) instead of keep-alive. */
  closeEach?: boolean;
  /** A Lua script file shaping the requests (lib/wrk-script.ts). */
  script?: string;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Connections that failed to connect, read or write, plus requests that timed out. */
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  non2xx: number;
}

/** Past its duration, wrk gets this long to finish before it counts as hung. */
const WRK_GRACE_MS = 10_000;

export function runWrk(options: WrkOptions): Promise<WrkResult> {
  // wrk reads a duration in whole seconds (or minutes, hours).
  if (!Number.isInteger(options.durationSeconds) || options.durationSeconds < 1) {
    return Promise.reject(new RangeError(`wrk runs whole seconds, not ${options.durationSeconds}`));
  }
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationSeconds}s`, '--timeout', '2s'];
  if (options.closeEach) args.push('-H', 'Connection: close');
  if (options.script) args.push('-s', options.script);
  args.push(options.url);
  const timeout = options.durationSeconds * 1000 + WRK_GRACE_MS;
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout, killSignal: 'SIGKILL' }, (err, stdout) => {
      if (err) return reject(new Error(`wrk ${args.join(' ')} failed: ${err.message}`));
      try {
        resolve(parseWrkSummary(stdout));
      } catch (parseError) {
        reject(parseError);
      }
    });
  });
}

/** Reads wrk's text summary: `N requests in Xs`, `Socket errors: …`, `Non-2xx or 3xx responses: N`. */
export function parseWrkSummary(text: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+)(ms|s|m)\b/.exec(text);
  if (!total) throw new Error(`wrk printed no request count:\n${text}`);
  const unit = { ms: 0.001, s: 1, m: 60 }[total[3] as 'ms' | 's' | 'm'];
  const requests = Number(total[1]);
  const seconds = Number(total[2]) * unit;
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    socketErrors: {
      connect: Number(errors?.[1] ?? 0),
      read: Number(errors?.[2] ?? 0),
      write: Number(errors?.[3] ?? 0),
      timeout: Number(errors?.[4] ?? 0),
    },
    non2xx: Number(non2xx?.[1] ?? 0),
  };
}
