/**
 * Section 1: requests per second of the reference (threaded, hello app through the whole stack) beside node:http,
 * Django's runserver and a raw `net` server, keep-alive and one connection per request, all in the same run.
 * Rounds alternate between the servers so a burst of load from elsewhere on the machine hits each of them alike;
 * each server's figure is its best round, and its CPU per request is taken over all rounds.
 */
import type { SpawnedTarget } from '../conformance/targets/spawn.ts';
import { cpuSeconds } from './lib/proc.ts';
import { segmentsPerResponse } from './lib/segments.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';
import { DJANGO, NODE_HTTP, RAW_NET, REFERENCE, startHelloServer, type HelloServer } from './servers/index.ts';

export type ConnectionMode = 'keep-alive' | 'close';

export interface ThroughputOptions {
  connections: number;
  durationSeconds: number;
  rounds: number;
}

export interface ThroughputRow {
  server: string;
  label: string;
  mode: ConnectionMode;
  /** The best round's rate. */
  requestsPerSecond: number;
  roundsPerSecond: number[];
  /** The server process's CPU time over all rounds, per request answered. */
  cpuMicrosPerRequest: number;
  socketErrors: number;
  non2xx: number;
  /** requestsPerSecond over node:http's in the same mode. */
  vsNodeHttp: number;
}

export interface ThroughputReport {
  options: ThroughputOptions;
  rows: ThroughputRow[];
  /** Data segments each server sends per keep-alive response (one when head and body leave together). */
  segmentsPerResponse: Record<string, number>;
}

const SERVERS: readonly HelloServer[] = [REFERENCE, NODE_HTTP, DJANGO, RAW_NET];
const MODES: readonly ConnectionMode[] = ['keep-alive', 'close'];
const SEGMENT_SAMPLE_REQUESTS = 10;
const SEGMENT_SAMPLE_TIMEOUT_MS = 10_000;

interface Tally {
  rounds: WrkResult[];
  cpuSeconds: number;
}

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputReport> {
  const started: Array<{ server: HelloServer; target: SpawnedTarget }> = [];
  try {
    for (const server of SERVERS) started.push({ server, target: await startHelloServer(server) });
    const segments: Record<string, number> = {};
    for (const { server, target } of started) {
      segments[server.name] = await segmentsPerResponse(target.endpoint, SEGMENT_SAMPLE_REQUESTS, SEGMENT_SAMPLE_TIMEOUT_MS);
    }
    const tallies = new Map<string, Tally>();
    for (let round = 0; round < options.rounds; round++) {
      for (const mode of MODES) {
        for (const { server, target } of started) {
          const key = `${server.name} ${mode}`;
          const tally = tallies.get(key) ?? { rounds: [], cpuSeconds: 0 };
          tallies.set(key, tally);
          const cpuBefore = cpuSeconds(target.pid);
          tally.rounds.push(
            await runWrk({
              url: `http://${target.endpoint.host}:${target.endpoint.port}/`,
              connections: options.connections,
              durationSeconds: options.durationSeconds,
              closeEach: mode === 'close',
            }),
          );
          tally.cpuSeconds += cpuSeconds(target.pid) - cpuBefore;
        }
      }
    }
    return { options, rows: rowsOf(tallies), segmentsPerResponse: segments };
  } finally {
    await Promise.all(started.map(({ target }) => target.stop()));
  }
}

function rowsOf(tallies: Map<string, Tally>): ThroughputRow[] {
  const best = (tally: Tally) => Math.max(...tally.rounds.map((r) => r.requestsPerSecond));
  const rows: ThroughputRow[] = [];
  for (const mode of MODES) {
    const yardstick = best(tallies.get(`${NODE_HTTP.name} ${mode}`)!);
    for (const server of SERVERS) {
      const tally = tallies.get(`${server.name} ${mode}`)!;
      const requests = tally.rounds.reduce((sum, r) => sum + r.requests, 0);
      const { connect, read, write, timeout } = tally.rounds.reduce(
        (sum, r) => ({
          connect: sum.connect + r.socketErrors.connect,
          read: sum.read + r.socketErrors.read,
          write: sum.write + r.socketErrors.write,
          timeout: sum.timeout + r.socketErrors.timeout,
        }),
        { connect: 0, read: 0, write: 0, timeout: 0 },
      );
      rows.push({
        server: server.name,
        label: server.label,
        mode,
        requestsPerSecond: best(tally),
        roundsPerSecond: tally.rounds.map((r) => r.requestsPerSecond),
        cpuMicrosPerRequest: requests > 0 ? (tally.cpuSeconds * 1e6) / requests : NaN,
        // wrk counts a read error each time a server closes a connection it did not mark `Connection: close`
        // (Django's and the reference's way with a request that asked for the close); only the others are failures.
        socketErrors: connect + write + timeout + (mode === 'keep-alive' ? read : 0),
        non2xx: tally.rounds.reduce((sum, r) => sum + r.non2xx, 0),
        vsNodeHttp: best(tally) / yardstick,
      });
    }
  }
  return rows;
}
