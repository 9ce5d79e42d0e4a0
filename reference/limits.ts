import type { WSGIRequestHandler } from './request-handler.ts';

/**
 * What the reference adds to Django to make it safe to leave facing the network: a time limit per connection
 * (`--timeout`). Django's runserver has none (socketserver's `timeout` is None), so it is off unless asked for.
 */

/**
 * The server gave up on a client that made no progress. Its code is a connection-aborted one, so every layer
 * that lets a vanished client go quietly (wsgiref's `run`, the writer) does the same with this one.
 */
export class ConnectionTimedOut extends Error {
  override name = 'ConnectionTimedOut';
  readonly code = 'ECONNABORTED';
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/**
 * The request handler with `timeoutMs` as two limits. A request head (request line and headers) must be complete
 * within it from the moment the server waits for one, so a client dripping a byte at a time is shed however fast it
 * drips (slowloris), and so is an idle keep-alive connection. Afterwards, while the application reads the body and
 * the response is written, the connection may not sit without a byte moving either way for that long. A connection
 * given up on ends there, whatever the application made of the error it met: no further request is read from it.
 */
export function withConnectionTimeout(Base: typeof WSGIRequestHandler, timeoutMs: number): typeof WSGIRequestHandler {
  return class TimedRequestHandler extends Base {
    private headDeadline: NodeJS.Timeout | undefined;
    private timedOut: ConnectionTimedOut | null = null;

    override async handle(): Promise<void> {
      this.socket.setTimeout(timeoutMs, () => this.abandon(`no byte moved for ${seconds(timeoutMs)}`));
      await super.handle();
    }

    private abandon(why: string): void {
      this.timedOut ??= new ConnectionTimedOut(why);
      this.socket.destroy(this.timedOut);
    }

    protected override async handleOneRequest(): Promise<void> {
      this.headDeadline = setTimeout(() => this.abandon(`no complete request head within ${seconds(timeoutMs)}`), timeoutMs);
      try {
        await super.handleOneRequest();
      } finally {
        clearTimeout(this.headDeadline);
      }
      if (this.timedOut) throw this.timedOut;
    }

    protected override async parseRequest(rawRequestline: Buffer): Promise<boolean> {
      try {
        return await super.parseRequest(rawRequestline);
      } finally {
        clearTimeout(this.headDeadline);
      }
    }
  };
}
