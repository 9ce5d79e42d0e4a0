/**
 * The benchmark's own machinery (bench/): reading wrk's summary, the request shapes it sends, the straight-line fit,
 * the segment count taken from the kernel, the parser section's corpus, and the targets table. No figure of speed is
 * asserted here: benchmarks measure, tests check behaviour.
 */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { segmentsPerResponse } from '../bench/lib/segments.ts';
import { linearFit } from '../bench/lib/stats.ts';
import { parseWrkSummary } from '../bench/lib/wrk.ts';
import { wrkScript } from '../bench/lib/wrk-script.ts';
import { CORPUS, measureParser } from '../bench/parser.ts';
import { renderMarkdown, targetsOf, type BenchResults } from '../bench/report.ts';
import type { ThroughputRow } from '../bench/throughput.ts';
import { helloApplication } from '../reference/application.ts';
import { WSGIServer } from '../reference/server.ts';
import { ServerLog } from '../reference/server-log.ts';
import type { Endpoint } from '../conformance/wire/types.ts';

const WRK_KEEP_ALIVE = `Running 3s test @ http://127.0.0.1:8000/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   211.23us   50.10us   2.01ms   90.12%
    Req/Sec    45.12k     1.20k   47.00k    70.00%
  134567 requests in 3.00s, 12.34MB read
Requests/sec:  44855.67
Transfer/sec:      4.11MB
`;

const WRK_WITH_ERRORS = `Running 2s test @ http://127.0.0.1:8000/
  1 threads and 10 connections
  4400 requests in 2.00s, 1.00MB read
  Socket errors: connect 1, read 4392, write 2, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   2200.00
Transfer/sec:    512.00KB
`;

describe('parseWrkSummary', () => {
  test('reads the request count and the duration it was taken over', () => {
    const result = parseWrkSummary(WRK_KEEP_ALIVE);
    expect(result.requests).toBe(134567);
    expect(result.seconds).toBe(3);
    expect(result.requestsPerSecond).toBeCloseTo(134567 / 3, 6);
    expect(result.socketErrors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
    expect(result.non2xx).toBe(0);
  });

  test('reads socket errors and non-2xx responses when wrk prints them', () => {
    const result = parseWrkSummary(WRK_WITH_ERRORS);
    expect(result.socketErrors).toEqual({ connect: 1, read: 4392, write: 2, timeout: 3 });
    expect(result.non2xx).toBe(7);
  });

  test('a summary without a request count is an error, not zero requests', () => {
    expect(() => parseWrkSummary('unable to connect to 127.0.0.1:1 Connection refused\n')).toThrow(/no request count/);
  });
});

describe('wrkScript', () => {
  const repeat = (script: string, what: string) => Number(new RegExp(`${what} = "/" \\.\\. string\\.rep\\("a", (\\d+)\\)`).exec(script)?.[1]);

  test('pads the path so the request line, CRLF included, has the asked length', () => {
    const script = wrkScript({ requestLineBytes: 4096 });
    expect(script).toContain('wrk.method = "GET"');
    expect(`GET /${'a'.repeat(repeat(script, 'wrk.path'))} HTTP/1.1\r\n`).toHaveLength(4096);
  });

  test('a body makes a POST of that many bytes; header fields are distinct', () => {
    const script = wrkScript({ bodyBytes: 1024, extraHeaders: 3 });
    expect(script).toContain('wrk.method = "POST"');
    expect(`POST /${'a'.repeat(repeat(script, 'wrk.path'))} HTTP/1.1\r\n`).toHaveLength('POST / HTTP/1.1\r\n'.length);
    expect(script).toContain('wrk.body = string.rep("b", 1024)');
    expect(script.match(/wrk\.headers\["X-Bench-\d+"\]/g)).toEqual(['wrk.headers["X-Bench-0"]', 'wrk.headers["X-Bench-1"]', 'wrk.headers["X-Bench-2"]']);
  });

  test('pipelining sends that many formatted requests in one write', () => {
    expect(wrkScript({ pipelineDepth: 8 })).toContain('for i = 1, 8 do requests[i] = wrk.format() end');
    expect(wrkScript({})).toContain('for i = 1, 1 do requests[i] = wrk.format() end');
  });
});

describe('linearFit', () => {
  test('points on a line give its slope and intercept, and R² 1', () => {
    const fit = linearFit([[0, 3], [1, 5], [4, 11]]);
    expect(fit.slope).toBeCloseTo(2, 10);
    expect(fit.intercept).toBeCloseTo(3, 10);
    expect(fit.r2).toBeCloseTo(1, 10);
  });

  test('scattered points give the least-squares line and an R² below 1', () => {
    const fit = linearFit([[0, 0], [1, 2], [2, 1], [3, 3]]);
    expect(fit.slope).toBeCloseTo(0.8, 10);
    expect(fit.intercept).toBeCloseTo(0.3, 10);
    expect(fit.r2).toBeGreaterThan(0);
    expect(fit.r2).toBeLessThan(1);
  });

  test('a line cannot be fitted to one point or to one x value', () => {
    expect(() => linearFit([[1, 1]])).toThrow(RangeError);
    expect(() => linearFit([[1, 1], [1, 2]])).toThrow(RangeError);
  });
});

describe('segmentsPerResponse (kernel counters via ss)', () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  /** A keep-alive server that answers each request with the given writes, a pause between them. */
  async function rawServer(pieces: string[], pauseMs: number): Promise<Endpoint> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ noDelay: true }, (socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('data', async () => {
        for (const [i, piece] of pieces.entries()) {
          if (i > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
          socket.write(piece);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    });
    return { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
  }

  test('a head and body written apart count two segments per response', async () => {
    const endpoint = await rawServer(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'hello'], 20);
    expect(await segmentsPerResponse(endpoint, 3, 10_000)).toBe(2);
  });

  test('the reference sends each hello response, head and body, in one segment', async () => {
    const server = await WSGIServer.start({ host: '127.0.0.1', port: 0, threaded: true, application: helloApplication, log: new ServerLog(() => {}) });
    servers.push(server);
    expect(await segmentsPerResponse({ host: '127.0.0.1', port: server.port }, 5, 10_000)).toBe(1);
  });
});

describe('the parser section', () => {
  test('parses its whole corpus (a request that did not parse would stop the measurement)', async () => {
    const report = await measureParser({ roundMs: 1, rounds: 1 });
    expect(report.corpus.map((c) => c.name)).toEqual(CORPUS.map((c) => c.name));
    expect(report.requestsPerSecond).toBeGreaterThan(0);
  });
});

describe('targetsOf and renderMarkdown', () => {
  const row = (server: string, mode: ThroughputRow['mode'], vsNodeHttp: number): ThroughputRow => ({
    server,
    label: server,
    mode,
    requestsPerSecond: 1000 * vsNodeHttp,
    roundsPerSecond: [1000 * vsNodeHttp],
    cpuMicrosPerRequest: 20,
    socketErrors: 0,
    non2xx: 0,
    vsNodeHttp,
  });
  const results: BenchResults = {
    machine: { cpus: 2, cpuModel: 'Test CPU', memoryGiB: 24, node: 'v20.0.0', loadAverage: 0.5, started: '2026-01-02T03:04:05.000Z' },
    throughput: {
      options: { connections: 10, durationSeconds: 3, rounds: 3 },
      rows: [row('reference', 'keep-alive', 0.85), row('node-http', 'keep-alive', 1), row('reference', 'close', 0.7), row('node-http', 'close', 1)],
      segmentsPerResponse: { reference: 1, 'node-http': 1 },
    },
    errors: { fuzz: 'h1spec fuzz ended with code 2' },
  };

  test('each target says whether it held, from the figures of the run', () => {
    expect(targetsOf(results).map((t) => [t.goal, t.holds])).toEqual([
      ['reference ≥ 0.8× node:http, keep-alive', true],
      ['reference ≥ 0.8× node:http, connection per request', false],
      ['reference sends a response (head and body) in one segment', true],
    ]);
  });

  test('the Markdown has the targets, a row per server and the sections that could not be measured', () => {
    const markdown = renderMarkdown(results);
    expect(markdown).toContain('| throughput | reference ≥ 0.8× node:http, connection per request | 0.70× | **no** |');
    expect(markdown).toMatch(/^\| reference \| 850 \| 0\.85× \| 20\.0 \| 700 \| 0\.70× \| 20\.0 \| 1\.00 \|$/m);
    expect(markdown).toContain('- fuzz: h1spec fuzz ended with code 2');
    expect(markdown).not.toContain('### 2. Harness speed');
  });
});
