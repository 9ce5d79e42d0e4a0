/**
 * The reference server broken on purpose, one behaviour each, through the request-handler layer its WSGIServer lets
 * tests swap: the fuzz properties must catch each break and shrink it to the smallest request that shows it.
 */
import { WSGIServer } from '../../reference/server.ts';
import { ServerLog } from '../../reference/server-log.ts';
import { WSGIRequestHandler } from '../../reference/request-handler.ts';
import { probeApplication } from '../../conformance/probes/probe.ts';
import type { RunningTarget } from '../../conformance/targets/types.ts';

/** Lets `X_Foo` through to the environ as HTTP_X_FOO, as wsgiref does (HDR-UNDERSCORE-STRIP). */
class StripsNothing extends WSGIRequestHandler {
  protected override stripUnderscoreHeaders(): void {}
}

/** Throws away whatever the client sent behind a request it has just answered: a pipelined request is lost (KA-PIPELINE). */
class DropsPipelined extends WSGIRequestHandler {
  protected override async handleOneRequest(): Promise<void> {
    await super.handleOneRequest();
    if (this.rfile.buffered > 0) await this.rfile.read(this.rfile.buffered);
  }
}

/** Refuses a request line of exactly 65536 bytes, which Django serves (URI-LIMIT-EXACT). */
class OffByOneRequestLine extends WSGIRequestHandler {
  protected override maxRequestLine = 65535;
}

export const BROKEN_HANDLERS = {
  'strips-nothing': StripsNothing,
  'drops-pipelined': DropsPipelined,
  'off-by-one-request-line': OffByOneRequestLine,
} as const;

export type Breakage = keyof typeof BROKEN_HANDLERS;

export async function startBrokenServer(breakage: Breakage): Promise<RunningTarget> {
  const server = await WSGIServer.start({
    host: '127.0.0.1',
    port: 0,
    threaded: true,
    application: probeApplication,
    log: new ServerLog(() => {}),
    requestHandlerClass: BROKEN_HANDLERS[breakage],
    osEnviron: {},
  });
  return {
    endpoint: { host: '127.0.0.1', port: server.port },
    description: `reference server broken on purpose (${breakage})`,
    log: null,
    exited: new Promise(() => {}),
    stop: () => server.close(),
  };
}
