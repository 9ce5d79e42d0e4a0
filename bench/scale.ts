/**
 * Section 4: what the reference costs as load grows. Resident memory with many idle keep-alive connections and while
 * a 1 GiB body streams through; CPU per request as the request line, the header count, the pipelining depth and the
 * body grow (server CPU from /proc over a short wrk run at each point, with the slope of a straight-line fit).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResponseStream } from '../conformance/wire/response-parser.ts';
import type { Endpoint } from '../conformance/wire/types.ts';
import { cpuSeconds, rssBytes } from './lib/proc.ts';
import { linearFit, type LinearFit } from './lib/stats.ts';
import { NODE_HTTP, RAW_NET, REFERENCE, REFERENCE_PROBE, withHelloServer, type HelloServer } from './servers/index.ts';
import { runWrk } from './lib/wrk.ts';
import { wrkScript, type RequestShape } from './lib/wrk-script.ts';

export interface ScaleOptions {
  idleConnections: number;
  uploadBytes: number;
  pointSeconds: number;
  connections: number;
}

export interface IdleResult {
  server: string;
  label: string;
  connections: number;
  baselineRssBytes: number;
  rssBytes: number;
  perConnectionBytes: number;
  openSeconds: number;
}

export interface UploadResult {
  server: string;
  label: string;
  bytes: number;
  baselineRssBytes: number;
  peakRssBytes: number;
  growthBytes: number;
  seconds: number;
  megabytesPerSecond: number;
  /** The probe's answer to the request whose body streamed, and whether the request after it was answered. */
  status: number;
  nextAnswered: boolean;
}

export interface CostPoint {
  x: number;
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
}

export interface CostCurve {
  dimension: string;
  unit: string;
  points: CostPoint[];
  /** Server CPU microseconds per request, per unit of the dimension. */
  fit: LinearFit;
}

export interface ScaleReport {
  options: ScaleOptions;
  /** The reference first, then node:http and the raw net server under the same connections, for scale. */
  idle: IdleResult[];
  /** The reference first, then node:http discarding the same body, for scale. */
  upload: UploadResult[];
  curves: CostCurve[];
}

/** Connections opened at once: the reference listens with Django's backlog of 10, and a full queue drops SYNs. */
const CONNECT_PARALLELISM = 8;
const SETTLE_MS = 500;
const RSS_POLL_MS = 50;
const UPLOAD_PIECE = 1024 * 1024;
const PROBE_READ = 64 * 1024;
const WAIT_MS = 30_000;

/** Resolves once `count` responses have arrived on `socket` (to requests already written), rejecting on close or after WAIT_MS. */
function responses(socket: net.Socket, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = new ResponseStream(Array.from({ length: count }, () => 'GET'));
    const timer = setTimeout(() => finish(new Error(`no ${count} responses within ${WAIT_MS} ms`)), WAIT_MS);
    const onData = (chunk: Buffer) => {
      stream.append(chunk);
      if (stream.settledCount() >= count) finish(null);
    };
    const onEnd = () => finish(new Error('the server closed the connection'));
    function finish(error: Error | null) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      if (error) reject(error);
      else resolve(stream.settledResponses(0, count)[0]!.status);
    }
    socket.on('data', onData);
    socket.on('end', onEnd);
  });
}

function connect(endpoint: Endpoint): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function getRequest(endpoint: Endpoint): Buffer {
  return Buffer.from(`GET / HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\n\r\n`, 'latin1');
}

/** A keep-alive connection that has been served one request and now sits idle. */
async function idleConnection(endpoint: Endpoint): Promise<net.Socket> {
  const socket = await connect(endpoint);
  socket.on('error', () => {});
  const answered = responses(socket, 1);
  socket.write(getRequest(endpoint));
  await answered;
  return socket;
}

async function measureIdle(server: HelloServer, count: number): Promise<IdleResult> {
  return withHelloServer(server, async (target) => {
    const warm = await idleConnection(target.endpoint);
    warm.destroy();
    await sleep(SETTLE_MS);
    const baselineRssBytes = rssBytes(target.pid);
    const sockets: net.Socket[] = [];
    const started = performance.now();
    try {
      let next = 0;
      const opener = async () => {
        while (next < count) {
          next++;
          sockets.push(await idleConnection(target.endpoint));
        }
      };
      await Promise.all(Array.from({ length: CONNECT_PARALLELISM }, opener));
      const openSeconds = (performance.now() - started) / 1000;
      await sleep(SETTLE_MS);
      const rss = rssBytes(target.pid);
      return { server: server.name, label: server.label, connections: count, baselineRssBytes, rssBytes: rss, perConnectionBytes: (rss - baselineRssBytes) / count, openSeconds };
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
}

/**
 * Streams `bytes` of body in one request that the application answers after reading 64 KiB of it (the probe's
 * `read:65536`; node:http's hello handler reads none), so the server discards the rest, then a second request on
 * the same connection, whose answer marks the end. Resident memory is sampled all along.
 */
async function measureUpload(server: HelloServer, bytes: number): Promise<UploadResult> {
  return withHelloServer(server, async (target) => {
    const { endpoint } = target;
    const warm = await idleConnection(endpoint);
    warm.destroy();
    await sleep(SETTLE_MS);
    const baselineRssBytes = rssBytes(target.pid);
    let peakRssBytes = baselineRssBytes;
    const poll = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, rssBytes(target.pid))), RSS_POLL_MS);
    const socket = await connect(endpoint);
    socket.on('error', () => {});
    const started = performance.now();
    try {
      const head = `POST / HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\nContent-Length: ${bytes}\r\nX-Probe-Action: read:${PROBE_READ}\r\n\r\n`;
      const answered = responses(socket, 1);
      socket.write(Buffer.from(head, 'latin1'));
      const piece = Buffer.alloc(UPLOAD_PIECE, 'u');
      for (let sent = 0; sent < bytes; sent += piece.length) {
        const last = Math.min(piece.length, bytes - sent);
        if (!socket.write(last === piece.length ? piece : piece.subarray(0, last))) await new Promise((resolve) => socket.once('drain', resolve));
      }
      const status = await answered;
      // The server discards the unread body before it reads the next request: its answer marks the end of the stream.
      const next = responses(socket, 1);
      socket.write(getRequest(endpoint));
      const nextAnswered = (await next) === 200;
      const seconds = (performance.now() - started) / 1000;
      peakRssBytes = Math.max(peakRssBytes, rssBytes(target.pid));
      return {
        server: server.name,
        label: server.label,
        bytes,
        baselineRssBytes,
        peakRssBytes,
        growthBytes: peakRssBytes - baselineRssBytes,
        seconds,
        megabytesPerSecond: bytes / 1e6 / seconds,
        status,
        nextAnswered,
      };
    } finally {
      clearInterval(poll);
      socket.destroy();
    }
  });
}

interface Dimension {
  name: string;
  unit: string;
  /** The unit's size in the x values (1024 for KiB). */
  scale: number;
  values: number[];
  shape: (value: number) => RequestShape;
}

const DIMENSIONS: readonly Dimension[] = [
  { name: 'request-line length', unit: 'KiB', scale: 1024, values: [64, 4096, 16384, 32768, 65536], shape: (v) => ({ requestLineBytes: v }) },
  { name: 'header fields', unit: 'field', scale: 1, values: [0, 10, 30, 60, 98], shape: (v) => ({ extraHeaders: v }) },
  { name: 'pipelining depth', unit: 'request in flight', scale: 1, values: [1, 2, 4, 8, 16], shape: (v) => ({ pipelineDepth: v }) },
  { name: 'body size', unit: 'KiB', scale: 1024, values: [0, 1024, 16384, 65536, 262144], shape: (v) => ({ bodyBytes: v }) },
];

async function measureCurves(options: ScaleOptions): Promise<CostCurve[]> {
  const scripts = mkdtempSync(path.join(tmpdir(), 'h1spec-bench-wrk-'));
  try {
    return await withHelloServer(REFERENCE, async (target) => {
      const url = `http://${target.endpoint.host}:${target.endpoint.port}/`;
      const curves: CostCurve[] = [];
      for (const dimension of DIMENSIONS) {
        const points: CostPoint[] = [];
        for (const value of dimension.values) {
          const script = path.join(scripts, `${dimension.name.replaceAll(' ', '-')}-${value}.lua`);
          writeFileSync(script, wrkScript(dimension.shape(value)));
          const before = cpuSeconds(target.pid);
          const result = await runWrk({ url, connections: options.connections, durationSeconds: options.pointSeconds, script });
          const cpu = cpuSeconds(target.pid) - before;
          points.push({ x: value / dimension.scale, requestsPerSecond: result.requestsPerSecond, cpuMicrosPerRequest: (cpu * 1e6) / result.requests });
        }
        curves.push({ dimension: dimension.name, unit: dimension.unit, points, fit: linearFit(points.map((p) => [p.x, p.cpuMicrosPerRequest])) });
      }
      return curves;
    });
  } finally {
    rmSync(scripts, { recursive: true, force: true });
  }
}

export async function measureScale(options: ScaleOptions): Promise<ScaleReport> {
  const idle: IdleResult[] = [];
  for (const server of [REFERENCE, NODE_HTTP, RAW_NET]) idle.push(await measureIdle(server, options.idleConnections));
  const upload: UploadResult[] = [];
  for (const server of [REFERENCE_PROBE, NODE_HTTP]) upload.push(await measureUpload(server, options.uploadBytes));
  const curves = await measureCurves(options);
  return { options, idle, upload, curves };
}
