/**
 * The servers the benchmarks start: each its own process, started by the harness's spawner (so each is stopped by
 * PID), its per-request log sent to /dev/null as a benchmark run of any of them would.
 */
import { fileURLToPath } from 'node:url';
import { PEER_PYTHON, REPO_ROOT } from '../../conformance/targets/peers.ts';
import { spawnTarget, type SpawnedTarget } from '../../conformance/targets/spawn.ts';
import type { RunningTarget } from '../../conformance/targets/types.ts';

export interface HelloServer {
  name: string;
  /** What it is, for the table. */
  label: string;
  command: string;
  env?: NodeJS.ProcessEnv;
}

const SERVERS_DIR = fileURLToPath(new URL('./', import.meta.url));
const NODE = process.execPath;

export const REFERENCE: HelloServer = {
  name: 'reference',
  label: 'reference (threaded, hello app, full stack)',
  command: `${NODE} bin/h1spec.mjs serve --app hello --port {port} 2>/dev/null`,
};

/** The reference serving the probe application, for what needs the probe's actions (`read:N`). */
export const REFERENCE_PROBE: HelloServer = {
  name: 'reference-probe',
  label: 'reference (probe app)',
  command: `${NODE} bin/h1spec.mjs serve --app probe --port {port} 2>/dev/null`,
};

export const NODE_HTTP: HelloServer = {
  name: 'node-http',
  label: 'node:http hello',
  command: `${NODE} --import tsx bench/servers/node-http-hello.ts {port}`,
};

export const RAW_NET: HelloServer = {
  name: 'raw-net',
  label: 'raw net (no parsing: upper bound)',
  command: `${NODE} --import tsx bench/servers/net-hello.ts {port}`,
};

export const DJANGO: HelloServer = {
  name: 'django',
  label: 'Django 3.2 runserver (threaded, hello WSGI app)',
  command: `${PEER_PYTHON} -m django runserver 127.0.0.1:{port} --noreload 2>/dev/null`,
  env: { DJANGO_SETTINGS_MODULE: 'django_hello', PYTHONPATH: SERVERS_DIR },
};

export function startHelloServer(server: HelloServer): Promise<SpawnedTarget> {
  return spawnTarget(server.command, { cwd: REPO_ROOT, env: server.env, startTimeoutMs: 30_000 });
}

/** Runs `use` with a target started, and stops it (spawned ones by PID) however `use` ends. */
export async function withTarget<Target extends RunningTarget, T>(start: () => Promise<Target>, use: (target: Target) => Promise<T>): Promise<T> {
  const target = await start();
  try {
    return await use(target);
  } finally {
    await target.stop();
  }
}

export function withHelloServer<T>(server: HelloServer, use: (target: SpawnedTarget) => Promise<T>): Promise<T> {
  return withTarget(() => startHelloServer(server), use);
}
