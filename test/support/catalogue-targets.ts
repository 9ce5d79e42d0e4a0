/**
 * Targets for the catalogue tests: the reference server in-process (with its override points, so a test can swap in
 * a layer broken on purpose) and tiny hand-written servers; each as a RunningTarget whose log the checks can read.
 */
import net from 'node:net';
import { probeApplication } from '../../conformance/probes/probe.ts';
import type { CheckVerdict, Requirement, ServerMode } from '../../conformance/catalogue/types.ts';
import { runChecks, type CheckRecord } from '../../conformance/runner.ts';
import { CapturedOutput, cleanEnvironment } from '../../conformance/targets/spawn.ts';
import type { RunningTarget } from '../../conformance/targets/types.ts';
import type { WSGIRequestHandler } from '../../reference/request-handler.ts';
import type { ServerHandler } from '../../reference/server-handler.ts';
import { ServerLog, type LogFormat } from '../../reference/server-log.ts';
import { WSGIServer } from '../../reference/server.ts';

export interface ReferenceVariant {
  requestHandlerClass?: typeof WSGIRequestHandler;
  serverHandlerClass?: typeof ServerHandler;
  /** Run threaded even when the checks are told the target is serial (a server that does not hold, for KA-SERIAL-HOLD). */
  threaded?: boolean;
}

export interface TargetOptions extends ReferenceVariant {
  mode: ServerMode;
  logFormat?: LogFormat;
}

/** The reference server with the probe, on a free port of 127.0.0.1, its log captured line by line. */
export async function startReference(options: TargetOptions): Promise<RunningTarget> {
  const output = new CapturedOutput();
  const server = await WSGIServer.start({
    host: '127.0.0.1',
    port: 0,
    threaded: options.threaded ?? options.mode === 'threaded',
    application: probeApplication,
    log: new ServerLog((text) => output.write(text, 'stderr'), options.logFormat ?? 'django'),
    osEnviron: cleanEnvironment(undefined) as Record<string, string>,
    ...(options.requestHandlerClass && { requestHandlerClass: options.requestHandlerClass }),
    ...(options.serverHandlerClass && { serverHandlerClass: options.serverHandlerClass }),
  });
  return {
    endpoint: { host: '127.0.0.1', port: server.port },
    description: `reference (${options.mode}) on port ${server.port}`,
    log: output,
    exited: new Promise<string>(() => {}),
    stop: () => server.close(),
  };
}

/** A server of a few lines: `onConnection` gets each socket. Every socket is destroyed when the target stops. */
export async function startTinyServer(description: string, onConnection: (socket: net.Socket) => void): Promise<RunningTarget> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: { host: '127.0.0.1', port },
    description: `${description} on port ${port}`,
    log: null,
    exited: new Promise<string>(() => {}),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const CHECK_TIMEOUT_MS = 5000;

/** Runs the requirements against a target as the harness does, and returns each record by ID. */
export async function verdicts(requirements: readonly Requirement[], target: RunningTarget, mode: ServerMode): Promise<Map<string, CheckRecord>> {
  const report = await runChecks(requirements, target, { profiles: ['django', 'wsgi', 'rfc'], strict: true, mode, timeoutMs: CHECK_TIMEOUT_MS, concurrency: 4 });
  return new Map(report.results.map((record) => [record.id, record]));
}

/** A record in one line, for assertion messages: the verdict and what the check saw. */
export function summary(record: CheckRecord | undefined): { verdict: CheckVerdict | string; actual: string } {
  return { verdict: record?.verdict ?? 'missing', actual: record ? record.actual || record.reason || '' : '' };
}
