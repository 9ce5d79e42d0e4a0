/**
 * Section 3: `h1spec fuzz` against a reference server it does not own (spawned here, probe app), in request exchanges
 * per second, beside wrk's connection-per-request rate against the same server in the same run, with the CPU each
 * side used while the campaign ran.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../conformance/targets/peers.ts';
import { cpuSeconds } from './lib/proc.ts';
import { runWrk } from './lib/wrk.ts';
import { REFERENCE_PROBE, withHelloServer } from './servers/index.ts';

export interface FuzzOptions {
  seconds: number;
  seed: number;
  wrkSeconds: number;
  wrkConnections: number;
}

export interface FuzzReport {
  options: FuzzOptions;
  runs: number;
  exchanges: number;
  elapsedSeconds: number;
  exchangesPerSecond: number;
  /** wrk, one connection per request, probe app, same server. */
  wrkCloseRequestsPerSecond: number;
  vsWrk: number;
  /** CPU seconds per second of wall time: 1.0 is one core busy. */
  harnessCores: number;
  targetCores: number;
  /** The harness's part of the CPU both sides used. */
  harnessShare: number;
  findings: number;
  status: string;
  /** The same campaign with `h1spec fuzz`'s own target: the reference on a thread of the fuzzing process. */
  ownTargetExchangesPerSecond: number;
}

const POLL_MS = 50;
/** The campaign's own budget ends it; this only catches a hung one. */
const HANG_GRACE_MS = 60_000;

interface Manifest {
  status: string;
  counts: { runs: number; exchanges: number; elapsedMs: number; findings: number };
}

/**
 * Runs `h1spec fuzz` as its own process and samples its CPU time until it exits (/proc forgets a process once it is
 * reaped, so the last sample, at most POLL_MS before the end, stands for the whole run).
 */
function runFuzzProcess(args: string[], timeoutMs: number): Promise<{ cpuSeconds: number; wallSeconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['bin/h1spec.mjs', 'fuzz', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    let lastCpu = 0;
    const poll = setInterval(() => {
      try {
        lastCpu = cpuSeconds(child.pid!);
      } catch {
        // The process has just ended; the previous sample stands.
      }
    }, POLL_MS);
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(killer);
      const wallSeconds = (performance.now() - started) / 1000;
      // Exit 1 means findings, which the report counts; anything else is a broken run.
      if (code === 0 || code === 1) resolve({ cpuSeconds: lastCpu, wallSeconds });
      else reject(new Error(`h1spec fuzz ended with ${signal ?? `code ${code}`}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}

function readManifest(out: string): Manifest {
  return JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
}

export async function measureFuzz(options: FuzzOptions): Promise<FuzzReport> {
  return withHelloServer(REFERENCE_PROBE, async (target) => {
    const out = mkdtempSync(path.join(tmpdir(), 'h1spec-bench-fuzz-'));
    try {
      const { host, port } = target.endpoint;
      const wrk = await runWrk({ url: `http://${host}:${port}/`, connections: options.wrkConnections, durationSeconds: options.wrkSeconds, closeEach: true });
      const targetCpuBefore = cpuSeconds(target.pid);
      const args = ['--target', `${host}:${port}`, '--time', `${options.seconds}s`, '--seed', String(options.seed), '--out', out];
      const harness = await runFuzzProcess(args, options.seconds * 1000 + HANG_GRACE_MS);
      const targetCpu = cpuSeconds(target.pid) - targetCpuBefore;
      const manifest = readManifest(out);
      const elapsedSeconds = manifest.counts.elapsedMs / 1000;
      const exchangesPerSecond = manifest.counts.exchanges / elapsedSeconds;
      await runFuzzProcess(['--time', `${options.seconds}s`, '--seed', String(options.seed), '--out', out], options.seconds * 1000 + HANG_GRACE_MS);
      const ownTarget = readManifest(out);
      return {
        options,
        runs: manifest.counts.runs,
        exchanges: manifest.counts.exchanges,
        elapsedSeconds,
        exchangesPerSecond,
        wrkCloseRequestsPerSecond: wrk.requestsPerSecond,
        vsWrk: exchangesPerSecond / wrk.requestsPerSecond,
        harnessCores: harness.cpuSeconds / harness.wallSeconds,
        targetCores: targetCpu / harness.wallSeconds,
        harnessShare: harness.cpuSeconds / (harness.cpuSeconds + targetCpu),
        findings: manifest.counts.findings,
        status: manifest.status,
        ownTargetExchangesPerSecond: ownTarget.counts.exchanges / (ownTarget.counts.elapsedMs / 1000),
      };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
