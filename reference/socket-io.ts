import type { Socket } from 'node:net';

/** Errors of a peer that went away; Django treats these as a broken pipe (`is_broken_pipe_error`). */
const BROKEN_PIPE_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

export function isBrokenPipeError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && BROKEN_PIPE_CODES.has((err as { code?: string }).code ?? '');
}

/** CPython's ValueError, for the places where the port must fail exactly where Python does. */
export class PythonValueError extends Error {
  override name = 'ValueError';
}

/**
 * A socket error is reported once, to whichever of the reads and writes meets it first, as the kernel's pending
 * error is to Python's recv or send; after that the connection reads as ended. So a reset that fails a write is
 * not met again by the next read (Django then logs nothing), while a reset met by a read is the Broken pipe line.
 */
export class PendingSocketError {
  private error: Error | null = null;
  private reported = false;

  constructor(socket: Socket) {
    socket.on('error', (err) => {
      if (!this.reported) this.error ??= err;
    });
  }

  take(): Error | null {
    const error = this.error;
    if (error) {
      this.error = null;
      this.reported = true;
    }
    return error;
  }
}

/** Past this much unread input the socket is paused, so a client that floods us costs bounded memory. */
const READ_HIGH_WATER_MARK = 256 * 1024;

const NEWLINE = 0x0a;

const EMPTY = Buffer.alloc(0);

/**
 * The connection's `rfile`: a buffered reader with the blocking `readline(limit)` / `read(n)` semantics of
 * Python's BufferedReader over a socket, made async. A read returns fewer bytes only at end of stream, and a
 * reset surfaces as a thrown error, as it would from Python's recv.
 */
export class SocketReader {
  private buffer: Buffer = EMPTY;
  private ended = false;
  private wake: (() => void) | null = null;

  /** `errors` is shared with the connection's writer; a reader alone gets its own. */
  constructor(
    private readonly socket: Socket,
    private readonly errors: PendingSocketError = new PendingSocketError(socket),
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      if (this.buffer.length >= READ_HIGH_WATER_MARK) socket.pause();
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', () => this.notify());
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
  }

  get buffered(): number {
    return this.buffer.length;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Waits for more input; false once none can come. */
  private async more(): Promise<boolean> {
    this.throwPendingError();
    if (this.ended) return false;
    this.socket.resume();
    await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.buffer.length === 0) this.throwPendingError();
    return true;
  }

  private throwPendingError(): void {
    const error = this.errors.take();
    if (error) throw error;
  }

  private take(n: number): Buffer {
    const whole = this.buffer;
    const out = n === whole.length ? whole : whole.subarray(0, n);
    this.buffer = n === whole.length ? EMPTY : whole.subarray(n);
    if (this.buffer.length < READ_HIGH_WATER_MARK) this.socket.resume();
    return out;
  }

  /** The length of the line readline(limit) would return from what is buffered now, its LF looked for from `searchFrom`; -1 when it must wait. */
  private bufferedLineLength(limit: number, searchFrom: number): number {
    const window = Math.min(this.buffer.length, limit);
    if (window > searchFrom) {
      const searchable = window === this.buffer.length ? this.buffer : this.buffer.subarray(0, window);
      const lf = searchable.indexOf(NEWLINE, searchFrom);
      if (lf >= 0) return lf + 1;
    }
    return this.buffer.length >= limit ? limit : -1;
  }

  /** What readline(limit) would return, when it can be had without waiting; null when it would wait. */
  readlineBuffered(limit: number): Buffer | null {
    const length = this.bufferedLineLength(limit, 0);
    return length >= 0 ? this.take(length) : null;
  }

  /** Up to and including the next LF, or `limit` bytes, or what is left at end of stream (empty at EOF). */
  async readline(limit: number): Promise<Buffer> {
    let searched = 0;
    for (;;) {
      const length = this.bufferedLineLength(limit, searched);
      if (length >= 0) return this.take(length);
      searched = this.buffer.length;
      if (!(await this.more())) return this.take(this.buffer.length);
    }
  }

  /** Exactly `n` bytes, fewer only at end of stream; -1 reads to end of stream, and below -1 is Python's ValueError. */
  async read(n: number): Promise<Buffer> {
    // Reachable: Django's LimitedStream passes a negative Content-Length straight through at the end of a request.
    if (n < -1) throw new PythonValueError('read length must be non-negative or -1');
    const want = n === -1 ? Infinity : n;
    while (this.buffer.length < want) {
      if (!(await this.more())) break;
    }
    return this.take(Math.min(want, this.buffer.length));
  }

  /**
   * Consumes what read(n) would and drops it, without gathering it into one buffer, so a body of any length costs
   * no more memory than the socket's own reads; returns how many bytes were dropped.
   */
  async skip(n: number): Promise<number> {
    if (n < -1) throw new PythonValueError('read length must be non-negative or -1');
    const want = n === -1 ? Infinity : n;
    let skipped = 0;
    while (skipped < want) {
      if (this.buffer.length === 0 && !(await this.more())) break;
      const piece = Math.min(want - skipped, this.buffer.length);
      this.take(piece);
      skipped += piece;
    }
    return skipped;
  }
}

/**
 * The connection's `wfile` (socketserver's unbuffered _SocketWriter, `sendall` per write). Writes are queued
 * without waiting for each to flush; a failure of the peer surfaces on the next write, and `drained` waits out
 * back-pressure so a slow reader costs bounded memory.
 */
export class SocketWriter {
  constructor(
    private readonly socket: Socket,
    private readonly errors: PendingSocketError = new PendingSocketError(socket),
  ) {}

  async write(data: Buffer): Promise<void> {
    this.throwPendingError();
    if (this.socket.destroyed || this.socket.writableEnded) {
      throw Object.assign(new Error('write on a closed connection'), { code: 'EPIPE' });
    }
    if (!this.socket.write(data)) await this.drained();
    this.throwPendingError();
  }

  private throwPendingError(): void {
    const error = this.errors.take();
    if (error) throw error;
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}
