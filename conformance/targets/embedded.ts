import { BUILT_IN_APPS } from '../../reference/apps.ts';
import { WSGIServer } from '../../reference/server.ts';
import { ServerLog, type LogFormat } from '../../reference/server-log.ts';
import type { ServerMode } from '../catalogue/types.ts';
import { CapturedOutput, cleanEnvironment } from './spawn.ts';
import type { RunningTarget } from './types.ts';

export interface EmbeddedOptions {
  mode: ServerMode;
  /** 127.0.0.1 unless given; `::1` for IPv6. */
  host?: string;
  app?: 'probe' | 'hello';
  /** json by default: the level of each record is then on the line, so LOG-LEVELS can be judged; django for runserver's exact text. */
  logFormat?: LogFormat;
}

/** The reference server inside the harness's own process: the default target, with its log captured for LOG/TLS checks. */
export async function startEmbeddedReference(options: EmbeddedOptions): Promise<RunningTarget> {
  const output = new CapturedOutput();
  const host = options.host ?? '127.0.0.1';
  const app = options.app ?? 'probe';
  const server = await WSGIServer.start({
    host,
    port: 0,
    threaded: options.mode === 'threaded',
    application: BUILT_IN_APPS[app]!,
    log: new ServerLog((text) => output.write(text, 'stderr'), options.logFormat ?? 'json'),
    // The environment a spawned target gets, so probe reports carry none of the harness's own variables.
    osEnviron: cleanEnvironment(undefined) as Record<string, string>,
  });
  let stopped: Promise<void> | null = null;
  return {
    endpoint: { host, port: server.port },
    description: `embedded reference server (${options.mode === 'threaded' ? 'threaded' : '--nothreading'}, app ${app})`,
    log: output,
    // An in-process server cannot die on its own without taking the harness with it.
    exited: new Promise<string>(() => {}),
    stop: () => (stopped ??= server.close()),
  };
}
