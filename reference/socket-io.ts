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

/** Past this much unread input the socket is paused, so a client that floods us costs bounded memory. */
const READ_HIGH_WATER_MARK = 256 * 1024;

const NEWLINE = 0x0a;

/**
 * The connection's `rfile`: a buffered reader with the blocking `readline(limit)` / `read(n)` semantics of
 * Python's BufferedReader over a socket, made async. A read returns fewer bytes only at end of stream, and a
 * reset surfaces as a thrown error, as it would from Python's recv.
 */
export class SocketReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      if (this.buffer.length >= READ_HIGH_WATER_MARK) socket.pause();
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', (err) => {
      this.failure ??= err;
      this.notify();
    });
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
    if (this.failure) throw this.failure;
    if (this.ended) return false;
    this.socket.resume();
    await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure && this.buffer.length === 0) throw this.failure;
    return true;
  }

  private take(n: number): Buffer {
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    if (this.buffer.length < READ_HIGH_WATER_MARK) this.socket.resume();
    return out;
  }

  /** Up to and including the next LF, or `limit` bytes, or what is left at end of stream (empty at EOF). */
  async readline(limit: number): Promise<Buffer> {
    let searched = 0;
    for (;;) {
      const window = Math.min(this.buffer.length, limit);
      const lf = this.buffer.subarray(0, window).indexOf(NEWLINE, searched);
      if (lf >= 0) return this.take(lf + 1);
      if (this.buffer.length >= limit) return this.take(limit);
      searched = window;
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
}

/**
 * The connection's `wfile` (socketserver's unbuffered _SocketWriter, `sendall` per write). Writes are queued
 * without waiting for each to flush; a failure of the peer surfaces on the next write, and `drained` waits out
 * back-pressure so a slow reader costs bounded memory.
 */
export class SocketWriter {
  private failure: Error | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('error', (err) => (this.failure ??= err));
  }

  async write(data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.socket.destroyed || this.socket.writableEnded) {
      throw Object.assign(new Error('write on a closed connection'), { code: 'EPIPE' });
    }
    if (!this.socket.write(data)) await this.drained();
    if (this.failure) throw this.failure;
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
