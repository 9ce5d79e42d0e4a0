import net from 'node:net';
import type { RunningTarget } from '../../conformance/targets/types.ts';
import { LIVENESS_REQUEST } from '../../conformance/wire/client.ts';

/**
 * Misbehaving HTTP servers for the harness's chaos tests: each accepts connections and breaks the protocol in one way.
 * Every server is bounded: it answers at most MAX_ANSWER_BYTES per connection, drips and streams stop when the
 * connection ends, and `stop()` destroys every connection it holds.
 */
export type ChaosBehaviour =
  /** Accepts, reads, never writes a byte. */
  | 'silent'
  /** Sends a status line and half a header field, then nothing more. */
  | 'hang-mid-headers'
  /** Sends a head declaring 1000 bytes of body and 10 of them, then resets. */
  | 'reset-mid-response'
  /** Sends a head without a length, then body bytes for as long as the client reads. */
  | 'endless-body'
  /** Answers every request with bytes that are no HTTP at all, then closes. */
  | 'garbage'
  /** Sends a valid response one byte every DRIP_EVERY_MS. */
  | 'drip'
  /** Answers 200 with a 100 MB body. */
  | 'huge';

export const CHAOS_BEHAVIOURS: readonly ChaosBehaviour[] = ['silent', 'hang-mid-headers', 'reset-mid-response', 'endless-body', 'garbage', 'drip', 'huge'];

export const DRIP_EVERY_MS = 100;
const HUGE_BODY_BYTES = 100 * 1000 * 1000;
/** What one connection may be sent, whatever its behaviour: a little more than the huge body. */
const MAX_ANSWER_BYTES = HUGE_BODY_BYTES + 1024 * 1024;
const BLOCK = Buffer.alloc(64 * 1024, 0x7a);
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

const OK = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok', 'latin1');
/** A fixed pseudo-random byte string with no "HTTP/" in it: the same garbage every run. */
const GARBAGE = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 251));

export interface ChaosOptions {
  /**
   * Answers the harness's own questions properly — its opening request (the first connection of a run or campaign)
   * and its liveness GETs — and misbehaves on everything else, so the run gets past its opening and every check or
   * case meets the misbehaviour. Without it the server misbehaves on those too.
   */
  honestLiveness?: boolean;
}

/** The request lines of the harness's liveness GETs: `run`'s (wire/client.ts) and `fuzz`'s (fuzz/properties.ts askAlive). */
const LIVENESS_LINES = [LIVENESS_REQUEST.subarray(0, LIVENESS_REQUEST.indexOf('\r\n')).toString('latin1'), 'GET /h1spec-fuzz-alive HTTP/1.1'];

/** Writes `next()` blocks while the client takes them, until the connection ends or `limit` bytes went out. */
function pour(socket: net.Socket, limit: number, next: (sent: number) => Buffer): void {
  let sent = 0;
  const more = (): void => {
    while (!socket.destroyed && sent < limit) {
      const piece = next(sent).subarray(0, limit - sent);
      sent += piece.length;
      if (!socket.write(piece)) return void socket.once('drain', more);
    }
    if (!socket.destroyed) socket.end();
  };
  more();
}

function misbehave(behaviour: ChaosBehaviour, socket: net.Socket, timers: Set<NodeJS.Timeout>): void {
  switch (behaviour) {
    case 'silent':
      return;
    case 'hang-mid-headers':
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/pl');
      return;
    case 'reset-mid-response':
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789', () => socket.resetAndDestroy());
      return;
    case 'endless-body':
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
      return pour(socket, MAX_ANSWER_BYTES, () => BLOCK);
    case 'garbage':
      socket.end(GARBAGE);
      return;
    case 'drip': {
      let next = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || next >= OK.length) {
          clearInterval(timer);
          timers.delete(timer);
          if (!socket.destroyed) socket.end();
          return;
        }
        socket.write(OK.subarray(next, ++next));
      }, DRIP_EVERY_MS);
      timers.add(timer);
      return;
    }
    case 'huge': {
      const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${HUGE_BODY_BYTES}\r\n\r\n`, 'latin1');
      return pour(socket, head.length + HUGE_BODY_BYTES, (sent) => (sent === 0 ? head : BLOCK));
    }
  }
}

/** A server on 127.0.0.1 that keeps its connections, so stopping it drops them all (a target that dies). */
abstract class TestServer {
  private readonly server = net.createServer({ allowHalfOpen: true }, (socket) => this.track(socket));
  private readonly sockets = new Set<net.Socket>();
  /** Connections accepted so far. */
  connections = 0;

  protected abstract serve(socket: net.Socket, ordinal: number): void;

  protected async listen(): Promise<this> {
    // A deep backlog: the chaos is the server's behaviour, not the kernel refusing a burst of connects.
    await new Promise<void>((resolve) => this.server.listen({ host: '127.0.0.1', port: 0, backlog: 511 }, resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private track(socket: net.Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    this.serve(socket, this.connections);
  }

  /** Stops listening and destroys every connection: the target dies, and connects are refused from now on. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** This server as the runner sees a `--target` it does not own: no log, and no exit other than by liveness probes. */
  asTarget(description: string): RunningTarget {
    return {
      endpoint: { host: '127.0.0.1', port: this.port },
      description,
      log: null,
      exited: new Promise(() => {}),
      stop: async () => {},
    };
  }
}

/** Collects a connection's bytes until a request head is complete, the client ends, or `enough` bytes came without one. */
function onRequestHead(socket: net.Socket, enough: number, handle: (head: Buffer) => void): void {
  let head = Buffer.alloc(0);
  let handled = false;
  const settle = (): void => {
    if (handled) return;
    handled = true;
    handle(head);
  };
  socket.on('data', (chunk: Buffer) => {
    if (handled) return;
    head = Buffer.concat([head, chunk]);
    if (head.includes(HEAD_END) || head.length >= enough) settle();
  });
  socket.on('end', settle);
}

/** A head that never ends (a request line over a limit, a TLS hello without LF) meets the misbehaviour once it is this long. */
const LONG_ENOUGH = 8192;

/**
 * One chaos server. Each connection waits for a request head (any byte, for `garbage`), then misbehaves once; what
 * the client sends afterwards is read and dropped.
 */
export class ChaosServer extends TestServer {
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    readonly behaviour: ChaosBehaviour,
    private readonly options: ChaosOptions,
  ) {
    super();
  }

  static start(behaviour: ChaosBehaviour, options: ChaosOptions = {}): Promise<ChaosServer> {
    return new ChaosServer(behaviour, options).listen();
  }

  protected serve(socket: net.Socket, ordinal: number): void {
    onRequestHead(socket, this.behaviour === 'garbage' ? 1 : LONG_ENOUGH, (head) => {
      const honest = this.options.honestLiveness && (ordinal === 1 || LIVENESS_LINES.some((line) => head.toString('latin1').startsWith(`${line}\r\n`)));
      if (honest) socket.end(OK);
      else misbehave(this.behaviour, socket, this.timers);
    });
  }

  override async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    await super.stop();
  }
}

/** Whether the request head `head`, on the server's `connection`-th connection, kills it. */
export type Trigger = (head: string, connection: number) => boolean;

/**
 * A well-behaved server (every request head gets `200 ok`, then a close) that dies — stops listening and drops every
 * connection — on the first request head its trigger picks: a target that crashes halfway through a run.
 */
export class DyingServer extends TestServer {
  /** The head that killed it, once it is dead. */
  killedBy: string | null = null;

  private constructor(private readonly trigger: Trigger) {
    super();
  }

  static start(trigger: Trigger): Promise<DyingServer> {
    return new DyingServer(trigger).listen();
  }

  protected serve(socket: net.Socket, ordinal: number): void {
    if (this.killedBy !== null) return void socket.destroy();
    onRequestHead(socket, LONG_ENOUGH, (head) => {
      const text = head.toString('latin1');
      if (this.trigger(text, ordinal)) {
        this.killedBy = text;
        void this.stop();
      } else {
        socket.end(OK);
      }
    });
  }
}
