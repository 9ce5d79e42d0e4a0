import { promises as dns } from 'node:dns';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import type { Application, Environ, ErrorStream } from './gateway.ts';
import { ConnectionTimedOut, withConnectionTimeout } from './limits.ts';
import { WSGIRequestHandler, type ServerContext } from './request-handler.ts';
import { PROCESS_ENVIRON, ServerHandler, formatTraceback } from './server-handler.ts';
import type { ServerLog } from './server-log.ts';
import { isBrokenPipeError } from './socket-io.ts';

/**
 * The server layer: Django's WSGIServer / ThreadedWSGIServer over socketserver.TCPServer. It binds, computes
 * the base environ once (server_bind → setup_environ), and hands each connection to a request handler —
 * all at once when threaded, one after another when not (`--nothreading`).
 */

export interface ServerOptions {
  host: string;
  port: number;
  /** Django's default; `--nothreading` turns it off, and with it every keep-alive (KA-SERIAL-CLOSE, KA-SERIAL-HOLD). */
  threaded: boolean;
  application: Application;
  log: ServerLog;
  /** socketserver's RequestHandlerClass; tests swap in a subclass to break one behaviour on purpose. */
  requestHandlerClass?: typeof WSGIRequestHandler;
  serverHandlerClass?: typeof ServerHandler;
  /** The environment under every request's environ; the process's own by default, as Django's. */
  osEnviron?: Readonly<Record<string, string>>;
  /**
   * Not Django's (it waits on a client for ever): a connection is closed when a request head is not complete this
   * long after the server began to wait for it, or when no byte moves either way for this long (reference/limits.ts).
   */
  timeoutMs?: number;
  /**
   * Not Django's (it starts a thread per connection without limit): at most this many connections are served at
   * once; the others wait, unread, in arrival order, and are served as connections end. Without threading it is 1.
   */
  maxConnections?: number;
}

/** socketserver's request_queue_size as Django sets it. */
const LISTEN_BACKLOG = 10;

/**
 * socket.getfqdn: the name the resolver gives the bind address (`localhost` for 127.0.0.1 on a usual host).
 * Python prefers the first alias containing a dot; getnameinfo gives only the primary name, which is what
 * that rule picks whenever no alias has a dot.
 */
async function getfqdn(host: string): Promise<string> {
  let name = host.trim();
  if (!name || name === '0.0.0.0' || name === '::') name = os.hostname();
  try {
    const address = net.isIP(name) ? name : (await dns.lookup(name)).address;
    return (await dns.lookupService(address, 0)).hostname;
  } catch {
    return name;
  }
}

/** How Python prints a client address tuple in the broken-pipe line. */
function pythonAddressTuple(socket: Socket): string {
  const host = socket.remoteAddress ?? '';
  const port = socket.remotePort ?? 0;
  return net.isIPv6(host) && !host.startsWith('::ffff:') ? `('${host}', ${port}, 0, 0)` : `('${host}', ${port})`;
}

export class WSGIServer {
  private readonly connections = new Set<Socket>();
  /** Accepted, not yet served: nothing is read from them until there is room. */
  private readonly waiting: Socket[] = [];
  private active = 0;
  private readonly context: ServerContext;
  private readonly RequestHandler: typeof WSGIRequestHandler;
  private readonly capacity: number;

  private constructor(
    private readonly listener: net.Server,
    readonly host: string,
    readonly port: number,
    baseEnviron: Environ,
    private readonly options: ServerOptions,
  ) {
    const errors: ErrorStream = { write: (text) => options.log.raw(text), flush: () => {} };
    this.context = {
      baseEnviron: Object.freeze(baseEnviron),
      threaded: options.threaded,
      application: options.application,
      log: options.log,
      errors,
      serverHandlerClass: options.serverHandlerClass ?? ServerHandler,
      osEnviron: options.osEnviron ?? PROCESS_ENVIRON,
    };
    const Base = options.requestHandlerClass ?? WSGIRequestHandler;
    this.RequestHandler = options.timeoutMs === undefined ? Base : withConnectionTimeout(Base, options.timeoutMs);
    this.capacity = options.threaded ? (options.maxConnections ?? Infinity) : 1;
    listener.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: ServerOptions): Promise<WSGIServer> {
    // Paused until a request handler reads, so a waiting connection (serial mode) is not read early; half-open,
    // because a client's FIN ends only its side: Python still answers what it read before it (KA-HALF-CLOSE).
    const listener = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: options.host, port: options.port, backlog: LISTEN_BACKLOG }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    const address = listener.address() as net.AddressInfo;
    // WSGIServer.setup_environ: bound once at start-up, whatever a request's Host says (ENV-SERVER-NAME, ENV-SERVER-PORT).
    const baseEnviron: Environ = {
      SERVER_NAME: await getfqdn(options.host),
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PORT: String(address.port),
      REMOTE_HOST: '',
      CONTENT_LENGTH: '',
      SCRIPT_NAME: '',
    };
    return new WSGIServer(listener, address.address, address.port, baseEnviron, options);
  }

  get baseEnviron(): Readonly<Environ> {
    return this.context.baseEnviron;
  }

  private accept(socket: Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    // Errors surface through the handler's reads and writes; this keeps Node from treating them as uncaught.
    socket.on('error', () => {});
    this.waiting.push(socket);
    this.serveWaiting();
  }

  /** Serves waiting connections in arrival order while there is room: socketserver's serial loop when the room is 1. */
  private serveWaiting(): void {
    while (this.active < this.capacity) {
      const socket = this.waiting.shift();
      if (!socket) return;
      if (socket.destroyed) continue;
      this.active++;
      void this.processRequest(socket).finally(() => {
        this.active--;
        this.serveWaiting();
      });
    }
  }

  /** socketserver's process_request → finish_request → shutdown_request, with Django's handle_error. */
  private async processRequest(socket: Socket): Promise<void> {
    try {
      await new this.RequestHandler(socket, this.context, socket.remoteAddress ?? '').handle();
    } catch (err) {
      this.handleError(socket, err);
    } finally {
      await this.shutdownRequest(socket);
    }
  }

  private handleError(socket: Socket, err: unknown): void {
    const log = this.options.log;
    if (err instanceof ConnectionTimedOut) {
      log.info(`- Timed out (${err.message}) from ${pythonAddressTuple(socket)}\n`);
      return;
    }
    if (isBrokenPipeError(err)) {
      log.info(`- Broken pipe from ${pythonAddressTuple(socket)}\n`);
      return;
    }
    const rule = '-'.repeat(40);
    log.raw(`${rule}\nException occurred during processing of request from ${pythonAddressTuple(socket)}\n${formatTraceback(err)}${rule}\n`);
  }

  /** shutdown(SHUT_WR) then close: the client sees end of stream once our last byte has left (KA-HALF-CLOSE). */
  private shutdownRequest(socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once('close', () => resolve());
      socket.end(() => socket.destroy());
    });
  }

  /** Stops listening and drops every connection, as Django's daemon threads die with the process. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    this.waiting.length = 0;
    for (const socket of this.connections) socket.destroy();
    await closed;
  }
}
