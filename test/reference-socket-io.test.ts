/**
 * reference/socket-io.ts over real loopback sockets: SocketReader keeps the blocking semantics of Python's
 * BufferedReader over a socket (`readline(limit)`, `read(n)`, `read(-1)`, a reset raised as an error), and
 * SocketWriter surfaces a peer that went away as the errors Django calls a broken pipe.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { PythonValueError, SocketReader, SocketWriter, isBrokenPipeError } from '../reference/socket-io.ts';
import { socketPair } from './support/reference-harness.ts';

const opened: net.Socket[] = [];
afterEach(() => {
  for (const socket of opened.splice(0)) socket.destroy();
});

/** A loopback connection whose far end is read (or written) by the code under test. */
async function pair(): Promise<{ near: net.Socket; far: net.Socket }> {
  const sockets = await socketPair();
  opened.push(sockets.near, sockets.far);
  return sockets;
}

const text = (buffer: Buffer) => buffer.toString('latin1');

describe('SocketReader', () => {
  test('readline returns through the LF, line by line', async () => {
    const { near, far } = await pair();
    const reader = new SocketReader(far);
    near.write('first\r\nsecond\nthird');
    expect(text(await reader.readline(100))).toBe('first\r\n');
    expect(text(await reader.readline(100))).toBe('second\n');
  });

  test('readline(limit) stops at `limit` bytes when no LF comes before; an LF at the last allowed byte is included', async () => {
    const { near, far } = await pair();
    const reader = new SocketReader(far);
    near.write('abcdefgh\nxyz\n');
    expect(text(await reader.readline(5))).toBe('abcde');
    expect(text(await reader.readline(4))).toBe('fgh\n');
    expect(text(await reader.readline(4))).toBe('xyz\n');
  });

  test('readline waits for the rest of a line that arrives in pieces', async () => {
    const { near, far } = await pair();
    const reader = new SocketReader(far);
    near.write('GET / HT');
    const line = reader.readline(65537);
    near.write('TP/1.1\r\nHost: x\r\n');
    expect(text(await line)).toBe('GET / HTTP/1.1\r\n');
    expect(text(await reader.readline(65537))).toBe('Host: x\r\n');
  });

  test('at end of stream readline returns what is left, then empty lines', async () => {
    const { near, far } = await pair();
    const reader = new SocketReader(far);
    near.end('tail without LF');
    expect(text(await reader.readline(100))).toBe('tail without LF');
    expect(await reader.readline(100)).toEqual(Buffer.alloc(0));
    expect(await reader.readline(100)).toEqual(Buffer.alloc(0));
  });

  test('read(n) returns exactly n bytes across pieces, fewer only at end of stream; read(0) returns nothing', async () => {
    const { near, far } = await pair();
    const reader = new SocketReader(far);
    near.write('hel');
    const five = reader.read(5);
    near.write('lo world');
    expect(text(await five)).toBe('hello');
    expect(await reader.read(0)).toEqual(Buffer.alloc(0));
    near.end('!');
    expect(text(await reader.read(100))).toBe(' world!');
    expect(await reader.read(1)).toEqual(Buffer.alloc(0));
  });

  test('read(-1) reads to end of stream; below -1 is ValueError, as BufferedReader.read', async () => {
    const { near, far } = await pair();
    const reader = new SocketReader(far);
    near.end('everything\nthat is left');
    const refused = reader.read(-2);
    await expect(refused).rejects.toBeInstanceOf(PythonValueError);
    await expect(refused).rejects.toThrow('read length must be non-negative or -1');
    expect(text(await reader.read(-1))).toBe('everything\nthat is left');
  });

  test('a megabyte written at once arrives intact through read(n), past the high-water mark where the socket pauses', async () => {
    const { near, far } = await pair();
    const reader = new SocketReader(far);
    const payload = randomBytes(1024 * 1024);
    near.end(payload);
    const pieces: Buffer[] = [];
    for (let i = 0; i < 16; i++) pieces.push(await reader.read(64 * 1024));
    expect(Buffer.concat(pieces).equals(payload)).toBe(true);
    expect(await reader.read(1)).toEqual(Buffer.alloc(0));
  });

  test('a reset while waiting for a line surfaces as the error, a broken pipe to Django', async () => {
    const { near, far } = await pair();
    const reader = new SocketReader(far);
    near.write('GET / HTTP/1.1\r\n');
    expect(text(await reader.readline(100))).toBe('GET / HTTP/1.1\r\n');
    const waiting = reader.readline(100);
    near.resetAndDestroy();
    const err = await waiting.then(
      () => null,
      (error: unknown) => error,
    );
    expect(err).toMatchObject({ code: 'ECONNRESET' });
    expect(isBrokenPipeError(err)).toBe(true);
  });
});

describe('SocketWriter', () => {
  test('writes arrive in order, byte for byte', async () => {
    const { near, far } = await pair();
    const writer = new SocketWriter(far);
    const received: Buffer[] = [];
    near.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise((resolve) => near.on('end', resolve));
    await writer.write(Buffer.from('HTTP/1.1 200 OK\r\n'));
    await writer.write(Buffer.from('\r\nbody'));
    far.end();
    await ended;
    expect(text(Buffer.concat(received))).toBe('HTTP/1.1 200 OK\r\n\r\nbody');
  });

  test('after the peer resets, a write fails with EPIPE or ECONNRESET', async () => {
    const { near, far } = await pair();
    const writer = new SocketWriter(far);
    const closed = new Promise((resolve) => far.on('close', resolve));
    near.resetAndDestroy();
    await closed;
    const err = await writer.write(Buffer.from('too late')).then(
      () => null,
      (error: unknown) => error,
    );
    expect(err).not.toBeNull();
    expect(['EPIPE', 'ECONNRESET']).toContain((err as { code?: string }).code);
    expect(isBrokenPipeError(err)).toBe(true);
  });

  test('a peer that resets in the middle of a long response: a later write fails (bounded: at most 512 writes of 64 KiB)', async () => {
    const { near, far } = await pair();
    const writer = new SocketWriter(far);
    near.once('data', () => near.resetAndDestroy());
    let failure: unknown = null;
    for (let i = 0; i < 512 && failure === null; i++) {
      await writer.write(Buffer.alloc(64 * 1024, 'x')).catch((err: unknown) => (failure = err));
    }
    expect(isBrokenPipeError(failure)).toBe(true);
  });

  test('a write after our own end is EPIPE', async () => {
    const { far } = await pair();
    const writer = new SocketWriter(far);
    far.end();
    await expect(writer.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'EPIPE' });
  });
});

describe('isBrokenPipeError', () => {
  test.each(['EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END'])('%s is a broken pipe', (code) => {
    expect(isBrokenPipeError(Object.assign(new Error(code), { code }))).toBe(true);
  });

  test.each([['ETIMEDOUT'], ['ENOTFOUND'], [undefined]])('code %s is not', (code) => {
    expect(isBrokenPipeError(Object.assign(new Error('x'), { code }))).toBe(false);
  });

  test('nor is anything that is not an error object', () => {
    for (const value of [null, undefined, 'EPIPE', 32]) expect(isBrokenPipeError(value)).toBe(false);
  });
});
