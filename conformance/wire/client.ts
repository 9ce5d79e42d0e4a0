import net from 'node:net';
import { ResponseStream } from './response-parser.ts';
import type { CloseState, Conversation, Endpoint, ParsedResponse, Segment, Writable } from './types.ts';

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** What isStillOpen sends: a request any HTTP/1.1 server answers somehow, whose path tells it apart in a server's log. */
export const LIVENESS_REQUEST = Buffer.from('GET /h1spec-liveness HTTP/1.1\r\nHost: h1spec\r\n\r\n', 'latin1');

/** setTimeout fires at once for delays above this, so longer deadlines are clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One point in time shared by every wait of an operation, with a single timer: `exchange` hands one Deadline to each
 * of its steps, so a whole exchange costs one timer however many waits it makes.
 */
export class Deadline {
  private readonly timer: NodeJS.Timeout;
  private readonly listeners = new Set<() => void>();
  private fired = false;

  constructor(readonly ms: number) {
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, ms), MAX_TIMER_MS));
  }

  get expired(): boolean {
    return this.fired;
  }

  /**
   * Calls `listener` when the deadline passes (in a microtask if it has already: never during this call, so callers
   * can set up before it runs); returns a function that unsubscribes it.
   */
  onExpire(listener: () => void): () => void {
    if (this.fired) {
      let subscribed = true;
      queueMicrotask(() => subscribed && listener());
      return () => {
        subscribed = false;
      };
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the timer; listeners are never called. */
  cancel(): void {
    clearTimeout(this.timer);
    this.listeners.clear();
  }

  private fire(): void {
    this.fired = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}

export interface OpenOptions {
  /** Bound for connecting, and the default bound of each later operation. */
  timeoutMs?: number;
  /** Reading stops (and the socket is destroyed) once this many bytes have arrived. */
  maxBytes?: number;
  /** Connect within this deadline instead of a fresh one of `timeoutMs`. */
  deadline?: Deadline;
}

/** `host:port`, with brackets around an IPv6 literal. */
export function formatEndpoint(ep: Endpoint): string {
  return ep.host.includes(':') ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

/**
 * One TCP connection to a server, driven byte by byte. Everything sent and received is kept byte-exact; responses are
 * parsed lazily from what was received.
 *
 * Each read call (readResponses, readInterim) takes the methods of the requests written since the previous read call,
 * in order: the parser needs them to frame responses (a response to HEAD has no body). isStillOpen registers its own GET.
 *
 * No operation throws on a peer's reset or on reaching its deadline: the outcome is recorded (see `conversation().close`).
 */
export class RawConnection {
  private readonly methods: string[] = [];
  private readonly stream = new ResponseStream(this.methods);
  private readonly sent: Buffer[] = [];
  /** Re-checked on every socket event; each belongs to one pending wait. */
  private readonly waiters = new Set<() => void>();
  private state: CloseState = 'open';
  /** No more bytes will arrive: the peer ended or reset the connection, or we destroyed it. */
  private inputDone = false;
  private truncated = false;
  private finishedAt: number | null = null;
  /** How many final responses readResponses has handed out, and how many interim ones readInterim has. */
  private responsesRead = 0;
  private interimRead = 0;

  private constructor(
    private readonly socket: net.Socket,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
    private readonly startedAt: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.finishInput('eof'));
    // Any error on an established connection (ECONNRESET, EPIPE, ...) means the peer broke it off.
    socket.on('error', () => this.finishInput('reset'));
    socket.on('close', () => this.finishInput(null));
  }

  /** Connects; rejects with an Error naming the endpoint (its `code` kept: ECONNREFUSED, ETIMEDOUT, ...) if it cannot. */
  static open(ep: Endpoint, opts: OpenOptions = {}): Promise<RawConnection> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const startedAt = performance.now();
    const deadline = opts.deadline ?? new Deadline(timeoutMs);
    return new Promise<RawConnection>((resolve, reject) => {
      const socket = net.connect({ host: ep.host, port: ep.port, allowHalfOpen: true });
      const fail = (message: string, code: string | undefined, cause?: Error) => {
        finish();
        // A late error from the abandoned socket must not become an uncaught exception.
        socket.on('error', () => {});
        socket.destroy();
        reject(Object.assign(new Error(`cannot connect to ${formatEndpoint(ep)}: ${message}`, { cause }), { code }));
      };
      const onConnect = () => {
        finish();
        socket.setNoDelay(true);
        resolve(new RawConnection(socket, timeoutMs, maxBytes, startedAt));
      };
      const onError = (err: NodeJS.ErrnoException) => fail(err.message, err.code, err);
      const finish = () => {
        socket.off('connect', onConnect);
        socket.off('error', onError);
        stopWaiting();
        if (!opts.deadline) deadline.cancel();
      };
      socket.once('connect', onConnect);
      socket.once('error', onError);
      const stopWaiting = deadline.onExpire(() => fail(`no connection within ${deadline.ms} ms`, 'ETIMEDOUT'));
    });
  }

  /**
   * Writes a Buffer or a latin-1 string in one write, or each Segment as its own write followed by its pause. Resolves
   * once the bytes are handed to the kernel, or when the peer broke the connection or the deadline passed (writing stops).
   */
  async write(data: Writable, deadline?: Deadline): Promise<void> {
    const segments: readonly Segment[] = Array.isArray(data)
      ? data
      : [{ bytes: typeof data === 'string' ? Buffer.from(data, 'latin1') : data }];
    await this.withDeadline(deadline, async (d) => {
      for (const segment of segments) {
        if (!(await this.writeBytes(segment.bytes, d))) return;
        if (segment.pauseAfterMs) await pause(segment.pauseAfterMs, d);
      }
    });
  }

  /** Half-closes: sends FIN on our side; reading goes on. */
  endWrite(): void {
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.end();
  }

  /**
   * The next `count` final responses. Resolves once they are all settled, or the connection ended (then with the
   * responses cut short by the end), or the deadline passed (then with what arrived, the last possibly incomplete).
   * `methods`: of the requests written since the previous read call.
   */
  async readResponses(methods: readonly string[], count: number, deadline?: Deadline): Promise<ParsedResponse[]> {
    this.methods.push(...methods);
    const wanted = this.responsesRead + count;
    await this.readUntil(() => this.stream.settledCount() >= wanted, deadline);
    const responses = this.stream.settledResponses(this.responsesRead, wanted);
    this.responsesRead += responses.length;
    const partial = responses.length < count ? this.stream.provisional() : null;
    if (partial) responses.push(partial);
    return responses;
  }

  /**
   * The next interim (1xx) response not yet returned, e.g. `100 Continue` before a body is sent; null when a final
   * response not yet read, the end of the connection or the deadline comes first. `methods` as for readResponses.
   */
  async readInterim(methods: readonly string[], deadline?: Deadline): Promise<ParsedResponse | null> {
    this.methods.push(...methods);
    const seen = this.interimRead;
    await this.readUntil(
      () => this.stream.interimResponses().length > seen || this.stream.settledCount() > this.responsesRead,
      deadline,
    );
    const next = this.stream.interimResponses()[seen];
    if (!next) return null;
    this.interimRead++;
    return next;
  }

  /** Reads (keeping every byte) until the peer ends the connection: `eof` (FIN), `reset`, or `timeout`. */
  async waitForClose(deadline?: Deadline): Promise<CloseState> {
    await this.readUntil(() => false, deadline);
    return this.state;
  }

  /**
   * Whether the server still serves this connection, decided without waiting out a timeout when it can be: writes
   * LIVENESS_REQUEST, then `open` as soon as any byte arrives, `eof`/`reset` when the connection ends, `timeout` only if
   * neither happens before the deadline. Bytes of an earlier response still in flight also count as an answer, so read
   * the responses you expect first.
   */
  async isStillOpen(deadline?: Deadline): Promise<CloseState> {
    if (this.inputDone) return this.state;
    const before = this.stream.length;
    const answered = () => this.stream.length > before;
    this.methods.push('GET');
    await this.withDeadline(deadline, async (d) => {
      await this.writeBytes(LIVENESS_REQUEST, d);
      await this.until(answered, d);
    });
    if (answered()) {
      if (!this.inputDone) this.state = 'open';
      return 'open';
    }
    if (!this.inputDone) this.state = 'timeout';
    return this.state;
  }

  /**
   * Everything so far. `close`: `eof`/`reset` once the peer ended the connection; otherwise `timeout` if the last wait
   * reached its deadline, else `open`. `responses` parses all received bytes with the methods registered so far; a
   * close-delimited response is complete only after an orderly end (a reset may have cut it).
   */
  conversation(): Conversation {
    const conversation: Conversation = {
      sent: Buffer.concat(this.sent),
      received: this.stream.bytes(),
      responses: this.stream.snapshot().responses,
      close: this.state,
      elapsedMs: (this.finishedAt ?? performance.now()) - this.startedAt,
    };
    if (this.truncated) conversation.truncated = true;
    return conversation;
  }

  destroy(): void {
    this.socket.destroy();
    this.finishInput(null);
  }

  private onData(chunk: Buffer): void {
    const room = this.maxBytes - this.stream.length;
    if (chunk.length <= room) {
      this.stream.append(chunk);
      this.wake();
      return;
    }
    this.stream.append(chunk.subarray(0, room));
    this.truncated = true;
    this.destroy();
  }

  /** `how`: the peer's end of the stream, or null when it stopped for another reason (we destroyed the socket). */
  private finishInput(how: 'eof' | 'reset' | null): void {
    if (this.inputDone) return;
    this.inputDone = true;
    this.finishedAt = performance.now();
    if (how) {
      this.state = how;
      this.stream.end(how === 'eof');
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async withDeadline<T>(given: Deadline | undefined, run: (deadline: Deadline) => Promise<T>): Promise<T> {
    const deadline = given ?? new Deadline(this.timeoutMs);
    try {
      return await run(deadline);
    } finally {
      if (!given) deadline.cancel();
    }
  }

  /** Waits until `ready`, the end of input, or the deadline; records `timeout` when only the deadline came. */
  private async readUntil(ready: () => boolean, given: Deadline | undefined): Promise<void> {
    await this.withDeadline(given, async (deadline) => {
      await this.until(ready, deadline);
      if (deadline.expired && !this.inputDone && !ready()) this.state = 'timeout';
    });
  }

  private until(ready: () => boolean, deadline: Deadline): Promise<void> {
    if (this.inputDone || deadline.expired || ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.inputDone || ready()) done();
      };
      const done = () => {
        this.waiters.delete(check);
        stopWaiting();
        resolve();
      };
      const stopWaiting = deadline.onExpire(done);
      this.waiters.add(check);
    });
  }

  /** False when nothing was written: the connection is gone, our side is closed, or the deadline passed. */
  private writeBytes(bytes: Buffer, deadline: Deadline): Promise<boolean> {
    if (deadline.expired || this.socket.destroyed || this.socket.writableEnded) return Promise.resolve(false);
    if (bytes.length === 0) return Promise.resolve(true);
    this.sent.push(bytes);
    return new Promise((resolve) => {
      const stopWaiting = deadline.onExpire(() => resolve(false));
      this.socket.write(bytes, (err) => {
        stopWaiting();
        resolve(!err);
      });
    });
  }
}

/** Waits `ms`, or less if the deadline comes first. */
function pause(ms: number, deadline: Deadline): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    const stopWaiting = deadline.onExpire(done);
    function done() {
      clearTimeout(timer);
      stopWaiting();
      resolve();
    }
  });
}

export interface ExchangeOptions {
  /** One per request in `request` (pipelined requests allowed). */
  methods: readonly string[];
  /** One deadline for the whole exchange: connecting, writing, reading and the `after` step. */
  timeoutMs: number;
  /** After the expected responses: wait for the server to close (default), ask isStillOpen, or stop reading. */
  after?: 'close' | 'probe' | 'none';
  /** End our sending side (FIN) right after writing. */
  halfClose?: boolean;
  maxBytes?: number;
}

/**
 * Connects, writes `request`, reads one response per method, then does the `after` step, all within one deadline,
 * and returns the whole conversation; the connection is always destroyed at the end. Reaching the deadline does not
 * throw (`close` says `timeout`); only failing to connect rejects (see RawConnection.open), except that a connection
 * reset while being established is a conversation that ended in `reset` with nothing sent.
 */
export async function exchange(ep: Endpoint, request: Writable, opts: ExchangeOptions): Promise<Conversation> {
  const startedAt = performance.now();
  const deadline = new Deadline(opts.timeoutMs);
  try {
    let connection: RawConnection;
    try {
      connection = await RawConnection.open(ep, { timeoutMs: opts.timeoutMs, maxBytes: opts.maxBytes, deadline });
    } catch (err) {
      // The server accepted and reset the connection before we saw it established: that is its answer, not a failure to connect.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
      const nothing = Buffer.alloc(0);
      return { sent: nothing, received: nothing, responses: [], close: 'reset', elapsedMs: performance.now() - startedAt };
    }
    try {
      await connection.write(request, deadline);
      if (opts.halfClose) connection.endWrite();
      await connection.readResponses(opts.methods, opts.methods.length, deadline);
      const after = opts.after ?? 'close';
      if (after === 'close') await connection.waitForClose(deadline);
      else if (after === 'probe') await connection.isStillOpen(deadline);
      return connection.conversation();
    } finally {
      connection.destroy();
    }
  } finally {
    deadline.cancel();
  }
}
