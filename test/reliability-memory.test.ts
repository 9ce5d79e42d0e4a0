/**
 * The reference server's memory per connection is bounded whatever the client sends: a body is streamed through the
 * LimitedStream in the pieces the application asks for, and the part it leaves unread is discarded piece by piece,
 * never buffered whole (Django's own ServerHandler.close reads it in one call).
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { Application, InputStream } from '../reference/gateway.ts';
import { helloApplication } from '../reference/application.ts';
import { RawClient, startReferencePeer, type ReferencePeer } from './support/reference-harness.ts';

const GIB = 1024 ** 3;
const PIECE = 64 * 1024;
/** What the process may grow by while a gibibyte goes through: a few pieces per layer, plus the allocator's slack. */
const RSS_ALLOWANCE = 192 * 1024 ** 2;
/** Loopback moves a gibibyte in seconds; this bounds a server that would buffer it (and copy it over and over). */
const UPLOAD_TEST_MS = 120_000;

/** Reads wsgi.input in small pieces, keeping only a count, and answers with it. */
const countingApplication: Application = async (environ, startResponse) => {
  const input = environ['wsgi.input'] as InputStream;
  let total = 0;
  for (let piece = await input.read(PIECE); piece.length > 0; piece = await input.read(PIECE)) total += piece.length;
  const body = Buffer.from(String(total));
  startResponse('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', String(body.length)]]);
  return [body];
};

/** The resident set size, sampled as often as the event loop lets a timer run, until stopped; its peak over the start. */
function watchRss(): { stop(): number } {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss()) - baseline;
    },
  };
}

/** Writes `total` bytes of body as fast as the server takes them (one reused buffer, waiting out back-pressure). */
async function upload(client: RawClient, total: number): Promise<void> {
  const block = Buffer.alloc(1024 * 1024, 0x61);
  for (let sent = 0; sent < total; sent += block.length) {
    const slice = block.subarray(0, Math.min(block.length, total - sent));
    if (!client.socket.write(slice)) await new Promise<void>((resolve) => client.socket.once('drain', () => resolve()));
  }
}

let peer: ReferencePeer | undefined;
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
});

describe('a 1 GiB request body through the reference server', { timeout: UPLOAD_TEST_MS }, () => {
  test('read by the application in 64 KiB pieces: every byte arrives and the process does not grow with it', async () => {
    peer = await startReferencePeer({ application: countingApplication });
    const client = await RawClient.connect(peer.endpoint);
    const rss = watchRss();
    await client.write(`POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: ${GIB}\r\nConnection: close\r\n\r\n`);
    await upload(client, GIB);
    expect(await client.finish()).toBe('eof');
    const grown = rss.stop();
    expect(client.received.toString('latin1')).toMatch(new RegExp(`\r\n\r\n${GIB}$`));
    expect(grown).toBeLessThan(RSS_ALLOWANCE);
  });

  test('left unread by the application: discarded in pieces, and the request pipelined behind it is answered', async () => {
    peer = await startReferencePeer({ application: helloApplication });
    const client = await RawClient.connect(peer.endpoint);
    const rss = watchRss();
    await client.write(`POST /ignored HTTP/1.1\r\nHost: t\r\nContent-Length: ${GIB}\r\n\r\n`);
    await upload(client, GIB);
    await client.write('GET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    expect(await client.finish()).toBe('eof');
    const grown = rss.stop();
    const text = client.received.toString('latin1');
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(peer.records.map((r) => r.message)).toEqual([
      expect.stringContaining(`"POST /ignored HTTP/1.1" 200 5`),
      expect.stringContaining(`"GET /after HTTP/1.1" 200 5`),
    ]);
    expect(grown).toBeLessThan(RSS_ALLOWANCE);
  });

  test('declared as -1 (read to the end of the stream, as Python does) and left unread: discarded in pieces until the client half-closes', async () => {
    peer = await startReferencePeer({ application: helloApplication });
    const client = await RawClient.connect(peer.endpoint);
    const rss = watchRss();
    await client.write('POST /minus-one HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n');
    await upload(client, GIB / 4);
    client.halfClose();
    expect(await client.finish()).toBe('eof');
    const grown = rss.stop();
    expect(client.received.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello$/);
    expect(grown).toBeLessThan(RSS_ALLOWANCE);
  });
});

describe('a request head that never ends is cut at the limits of SPEC, so it cannot grow a connection', { timeout: UPLOAD_TEST_MS }, () => {
  /** Writes `head`, then `filler` for as long as the server reads (at most 16 MiB), and returns what came back. */
  async function endless(head: string, filler: string): Promise<string> {
    const client = await RawClient.connect(peer!.endpoint);
    await client.write(head);
    const block = Buffer.from(filler.repeat(Math.ceil(64 * 1024 / filler.length)), 'latin1');
    for (let sent = 0; sent < 16 * 1024 * 1024 && client.endedAs === null && client.received.length === 0; sent += block.length) {
      await client.write(block).catch(() => {});
    }
    await client.finish();
    return client.received.toString('latin1');
  }

  test('a request line: 414 once it passes 65536 bytes (URI-414)', async () => {
    peer = await startReferencePeer({ application: helloApplication });
    expect(await endless('GET /', 'a')).toMatch(/^HTTP\/1\.1 414 Request-URI Too Long\r\n/);
  });

  test('one header line: 431 once it passes 65536 bytes (HDR-LINE-LIMIT)', async () => {
    peer = await startReferencePeer({ application: helloApplication });
    expect(await endless('GET / HTTP/1.1\r\nX-Endless: ', 'v')).toMatch(/^HTTP\/1\.1 431 Line too long\r\n/);
  });

  test('header lines without end: 431 at the hundredth (HDR-COUNT-LIMIT)', async () => {
    peer = await startReferencePeer({ application: helloApplication });
    expect(await endless('GET / HTTP/1.1\r\n', 'X-More: v\r\n')).toMatch(/^HTTP\/1\.1 431 Too many headers\r\n/);
  });
});
