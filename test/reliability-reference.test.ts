/**
 * The reference server cannot be knocked over: clients that reset or half-close at any point, a thousand connections
 * at once, applications that fail at every point of the gateway, and slowloris clients. Django's default (no time
 * limit, no connection limit) is kept; `timeoutMs` and `maxConnections` (reference/limits.ts) make it shed them.
 * Every wait is bounded; nothing here measures how long anything took.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../conformance/targets/peers.ts';
import { spawnTarget } from '../conformance/targets/spawn.ts';
import { helloApplication } from '../reference/application.ts';
import type { Application, InputStream, ResponseBody } from '../reference/gateway.ts';
import type { ServerOptions } from '../reference/server.ts';
import { PythonValueError } from '../reference/socket-io.ts';
import { RawClient, converse, send, startReferencePeer, waitUntil, type ReferencePeer } from './support/reference-harness.ts';

const TEST_MS = 60_000;
/** Short, so shedding shows quickly. */
const TIMEOUT_MS = 300;
/** For the drippers: fifty drips per limit, so even on a loaded machine they never pause that long and only a limit on the whole head sheds them. */
const SLOWLORIS_TIMEOUT_MS = 1000;
const DRIP_EVERY_MS = 20;

const GET_CLOSE = (path: string) => `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`;

const text = (body: string): ResponseBody => [Buffer.from(body)];

/** A response that goes on for `chunks` pieces of 64 KiB, without a length. */
function* stream(chunks: number): Generator<Buffer> {
  const piece = Buffer.alloc(64 * 1024, 0x62);
  for (let i = 0; i < chunks; i++) yield piece;
}

/** Reads the whole body in small pieces, then answers how much it read. */
const readAll = async (input: InputStream): Promise<number> => {
  let total = 0;
  for (let piece = await input.read(4096); piece.length > 0; piece = await input.read(4096)) total += piece.length;
  return total;
};

class Boom extends Error {}

/** Every point at which an application can fail the gateway, by path; anything else is a plain 200. */
const FAULTS: Record<string, Application> = {
  '/throw': () => {
    throw new Boom('before start_response');
  },
  '/reject': async () => Promise.reject(new Boom('async, before start_response')),
  '/throw-string': () => {
    throw 'not an Error';
  },
  '/throw-undefined': () => {
    throw undefined;
  },
  '/bad-status': (_env, start) => {
    start('OK', []);
    return text('x');
  },
  '/hop-by-hop': (_env, start) => {
    start('200 OK', [['Connection', 'keep-alive']]);
    return text('x');
  },
  '/start-twice': (_env, start) => {
    start('200 OK', []);
    start('200 OK', []);
    return text('x');
  },
  '/returns-null': (_env, start) => {
    start('200 OK', []);
    return null as unknown as ResponseBody;
  },
  '/returns-number': (_env, start) => {
    start('200 OK', []);
    return 42 as unknown as ResponseBody;
  },
  '/no-start-response': () => text('x'),
  '/first-chunk-throws': (_env, start) => {
    start('200 OK', []);
    return (function* () {
      throw new Boom('before the first chunk');
    })();
  },
  '/later-chunk-throws': (_env, start) => {
    start('200 OK', []);
    return (function* () {
      yield Buffer.from('first');
      throw new Boom('after the headers went out');
    })();
  },
  '/async-chunk-rejects': (_env, start) => {
    start('200 OK', []);
    return (async function* () {
      yield Buffer.from('first');
      await Promise.resolve();
      throw new Boom('async, after the headers went out');
    })();
  },
  '/chunk-not-bytes': (_env, start) => {
    start('200 OK', []);
    return ['a string' as unknown as Buffer];
  },
  '/close-throws': (_env, start) => {
    start('200 OK', [['Content-Length', '2']]);
    return Object.assign([Buffer.from('ok')], {
      close: () => {
        throw new Boom('in close()');
      },
    });
  },
  '/close-rejects': (_env, start) => {
    start('200 OK', [['Content-Length', '2']]);
    return Object.assign([Buffer.from('ok')], { close: async () => Promise.reject(new Boom('async, in close()')) });
  },
  '/read-all': async (env, start) => {
    await (env['wsgi.input'] as InputStream).read();
    start('200 OK', []);
    return text('x');
  },
  '/exc-info-after-headers': (_env, start) => {
    const write = start('200 OK', []);
    return (async function* () {
      await write(Buffer.from('first'));
      start('500 Oops', [], new Boom('exc_info after the headers went out'));
      yield Buffer.from('never');
    })();
  },
};

const faultyApplication: Application = (environ, startResponse) => {
  const path = String(environ['PATH_INFO']);
  const fault = FAULTS[path];
  if (fault) return fault(environ, startResponse);
  if (path === '/read') {
    return (async () => {
      const total = await readAll(environ['wsgi.input'] as InputStream);
      startResponse('200 OK', [['Content-Length', String(String(total).length)]]);
      return text(String(total));
    })();
  }
  if (path === '/stream') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return stream(1024);
  }
  return helloApplication(environ, startResponse);
};

let peer: ReferencePeer | undefined;
const clients: RawClient[] = [];

async function start(options: Partial<Omit<ServerOptions, 'log' | 'application'>> = {}): Promise<ReferencePeer> {
  peer = await startReferencePeer({ application: faultyApplication, ...options });
  return peer;
}

async function connect(server: ReferencePeer): Promise<RawClient> {
  const client = await RawClient.connect(server.endpoint);
  clients.push(client);
  return client;
}

/**
 * Django's listen backlog is 10 (kept by the reference): connections are opened a few at a time, as a burst of
 * hundreds of SYNs overflows it and the kernel resets the excess, real Django's included. Once open they are all
 * open together.
 */
const CONNECTING_AT_ONCE = 8;

/** Opens `count` connections, handing each to `onOpen` as soon as it is open. */
async function connectMany(server: ReferencePeer, count: number, onOpen: (client: RawClient) => void = () => {}): Promise<RawClient[]> {
  const opened: RawClient[] = [];
  let pending = 0;
  const opener = async (): Promise<void> => {
    while (opened.length + pending < count) {
      pending++;
      const client = await connect(server);
      opened.push(client);
      pending--;
      onOpen(client);
    }
  };
  await Promise.all(Array.from({ length: CONNECTING_AT_ONCE }, opener));
  return opened;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  await peer?.stop();
  peer = undefined;
});

/** A fresh connection's GET is answered 200 in full: the server is still serving. */
async function expectServing(server: ReferencePeer): Promise<void> {
  const { received, ending } = await converse(server.endpoint, send([GET_CLOSE('/still-there')]));
  expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello$/);
  expect(ending).toBe('eof');
}

/** What the server wrote besides log records: it must hold no traceback of the server's own making. */
function expectNoServerTraceback(server: ReferencePeer): void {
  expect(server.raw.join('')).not.toContain('Exception occurred during processing of request');
}

/**
 * A slowloris client: sends `head`, then one more byte every DRIP_EVERY_MS, for at most `drips` bytes or until the
 * server ends the connection. Resolves with how it ended (null: still open when the drips ran out).
 */
async function drip(client: RawClient, head: string, drips: number): Promise<'eof' | 'reset' | null> {
  await client.write(head);
  for (let i = 0; i < drips && client.endedAs === null; i++) {
    await sleep(DRIP_EVERY_MS);
    if (client.endedAs !== null) break;
    await client.write('b').catch(() => {});
  }
  return client.endedAs;
}

/** `count` slowloris clients, each dripping from the moment it is open; resolves with how each ended. */
async function drippers(server: ReferencePeer, count: number, head: string, drips: number): Promise<Array<'eof' | 'reset' | null>> {
  const dripping: Array<Promise<'eof' | 'reset' | null>> = [];
  await connectMany(server, count, (client) => dripping.push(drip(client, head, drips)));
  return Promise.all(dripping);
}

describe('clients that go away at any point', { timeout: TEST_MS }, () => {
  const RESETS: Array<[string, string]> = [
    ['in the middle of the request line', 'GET /par'],
    ['in the middle of the headers', 'GET / HTTP/1.1\r\nHost: t\r\nX-Half: val'],
    ['in the middle of a body the application is reading', 'POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nsome of it'],
    ['in the middle of a body nobody reads', 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nsome of it'],
    ['right after a whole request', 'GET / HTTP/1.1\r\nHost: t\r\n\r\n'],
  ];

  // Python logs a broken pipe for each; Node (libuv) may read a reset that follows data at once as an end of stream, so
  // the reference may log nothing instead, or serve what it read to a client that is gone.
  test.each(RESETS)('a reset %s: the server logs at most a broken pipe and goes on serving', async (_what, bytes) => {
    const server = await start();
    const client = await connect(server);
    await client.write(bytes);
    client.reset();
    await expectServing(server);
    expectNoServerTraceback(server);
  });

  test('a reset in the middle of a 64 MiB response: the server stops writing, logs nothing worse than a broken pipe, and goes on serving', async () => {
    const server = await start();
    const client = await connect(server);
    await client.write(GET_CLOSE('/stream'));
    expect(await client.waitFor((received) => received.length > 100_000)).toBe(true);
    client.reset();
    await expectServing(server);
    expectNoServerTraceback(server);
  });

  test('a hundred clients that half-close right after their request all get their whole response, then the end of the stream', async () => {
    const server = await start();
    const halfOpen = await connectMany(server, 100);
    await Promise.all(halfOpen.map((client, i) => send([`GET /half-${i} HTTP/1.1\r\nHost: t\r\n\r\n`], { halfClose: true })(client)));
    expect(await Promise.all(halfOpen.map((client) => client.finish()))).toEqual(Array(100).fill('eof'));
    for (const client of halfOpen) expect(client.received.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello$/);
  });

  test('clients that half-close before a whole request line or head: the server ends each connection and goes on serving', async () => {
    const server = await start();
    const endings = await Promise.all(
      ['', 'GET /no-end-of-line', 'GET / HTTP/1.1\r\nHost: t\r\nX-Half'].map((bytes) => converse(server.endpoint, send([bytes], { halfClose: true }))),
    );
    expect(endings.map((e) => e.ending)).toEqual(['eof', 'eof', 'eof']);
    await expectServing(server);
  });

  test('a client that pipelines requests and never reads its responses holds only its own connection', async () => {
    const server = await start();
    const hog = await connect(server);
    hog.socket.pause();
    const request = 'GET /stream HTTP/1.1\r\nHost: t\r\n\r\n'.repeat(50);
    hog.socket.write(request);
    await expectServing(server);
    await expectServing(server);
  });
});

describe('a thousand connections at once', { timeout: TEST_MS }, () => {
  async function thousandAnswered(server: ReferencePeer): Promise<void> {
    const many = await connectMany(server, 1000);
    await Promise.all(many.map((client, i) => client.write(GET_CLOSE(`/c${i}`))));
    const endings = await Promise.all(many.map((client) => client.finish()));
    expect(endings.filter((e) => e !== 'eof')).toEqual([]);
    expect(many.filter((client) => !client.received.toString('latin1').endsWith('\r\n\r\nhello'))).toHaveLength(0);
  }

  test('threaded: all open together, each is answered, and another client is served while they are all open and idle', async () => {
    const server = await start();
    const idle = await connectMany(server, 1000);
    await expectServing(server);
    for (const client of idle) client.socket.destroy();
    await thousandAnswered(server);
  });

  test('with maxConnections 10: the rest wait their turn, and every one is answered', async () => {
    await thousandAnswered(await start({ maxConnections: 10 }));
  });

  test('a burst of 300 connection attempts at once, far beyond the listen backlog: whatever the kernel refuses, the server goes on serving', async () => {
    const server = await start();
    await Promise.all(Array.from({ length: 300 }, () => converse(server.endpoint, send([GET_CLOSE('/burst')], { halfClose: true }))));
    await expectServing(server);
    expectNoServerTraceback(server);
  });
});

describe('an application that fails at any point of the gateway', { timeout: TEST_MS }, () => {
  test.each(Object.keys(FAULTS))('%s: the client gets an answer or a close, never a hang, and the server goes on serving', async (path) => {
    const server = await start();
    const { ending } = await converse(server.endpoint, send([`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n` + GET_CLOSE('/after')]));
    expect(ending).not.toBe('timeout');
    await expectServing(server);
  });

  test('Content-Length -5 makes a whole read raise ValueError into the application, as Python does: a 500, and the server goes on', async () => {
    const server = await start();
    const { received } = await converse(server.endpoint, send(['POST /read-all HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n']));
    expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
    expect(server.raw.join('')).toContain(new PythonValueError('read length must be non-negative or -1').message);
    await expectServing(server);
  });
});

describe('slowloris: many connections dripping a request head one byte at a time', { timeout: TEST_MS }, () => {
  const DRIPPERS = 100;
  const ENDLESS_HEADER = 'GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ';

  test("without a time limit (Django's default), threaded: the drippers are left alone, and other clients are served meanwhile", async () => {
    const server = await start();
    const dripping = drippers(server, DRIPPERS, ENDLESS_HEADER, 50);
    for (let i = 0; i < 5; i++) await expectServing(server);
    expect(await dripping).toEqual(Array(DRIPPERS).fill(null));
  });

  test('with timeoutMs: each dripper is shed although it never pauses long, and the server logs why, without a traceback', async () => {
    const server = await start({ timeoutMs: SLOWLORIS_TIMEOUT_MS });
    const dripping = drippers(server, DRIPPERS, ENDLESS_HEADER, 500);
    await expectServing(server);
    const endings = await dripping;
    expect(endings.filter((e) => e === null)).toEqual([]);
    await waitUntil(() => server.records.filter((r) => r.message.startsWith('- Timed out')).length >= DRIPPERS);
    const timedOut = server.records.filter((r) => r.message.startsWith('- Timed out'));
    expect(timedOut).toHaveLength(DRIPPERS);
    for (const record of timedOut) {
      expect(record).toEqual({ level: 'INFO', message: expect.stringMatching(/^- Timed out \(no complete request head within 1 s\) from \('127\.0\.0\.1', \d+\)\n$/) });
    }
    expectNoServerTraceback(server);
  });

  test('with timeoutMs and maxConnections 5: drippers fill every slot, are shed, and the client queued behind them is served', async () => {
    const server = await start({ timeoutMs: SLOWLORIS_TIMEOUT_MS, maxConnections: 5 });
    const dripping = drippers(server, 20, ENDLESS_HEADER, 500);
    await expectServing(server);
    expect((await dripping).filter((e) => e === null)).toEqual([]);
  });

  test('without threading and with timeoutMs: a dripper holds the server only until it is shed, then the next client is served', async () => {
    const server = await start({ threaded: false, timeoutMs: SLOWLORIS_TIMEOUT_MS });
    const dripper = await connect(server);
    const dripping = drip(dripper, ENDLESS_HEADER, 500);
    await sleep(DRIP_EVERY_MS * 3);
    await expectServing(server);
    expect(await dripping).not.toBeNull();
  });
});

describe('timeoutMs after the head: a connection where nothing moves is closed', { timeout: TEST_MS }, () => {
  test('a keep-alive connection left idle after its response, and one that never sends a byte', async () => {
    const server = await start({ timeoutMs: TIMEOUT_MS });
    const kept = await connect(server);
    await kept.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    const silent = await connect(server);
    expect(await Promise.all([kept.finish(), silent.finish()])).toEqual(['eof', 'eof']);
    expect(kept.received.toString('latin1')).toMatch(/\r\n\r\nhello$/);
    expect(silent.received).toHaveLength(0);
  });

  test('a body that stops arriving while the application reads it', async () => {
    const server = await start({ timeoutMs: TIMEOUT_MS });
    const client = await connect(server);
    await client.write('POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nonly this much');
    expect(await client.finish()).not.toBe('timeout');
    expect(client.received).toHaveLength(0);
    await waitUntil(() => server.records.some((r) => r.message.startsWith('- Timed out (no byte moved for 0.3 s)')));
    expect(server.records.map((r) => r.message)).toContainEqual(expect.stringMatching(/^- Timed out \(no byte moved for 0\.3 s\) from /));
    expectNoServerTraceback(server);
  });

  test('a client that stops reading a 64 MiB response: cut short, and the connection ends', async () => {
    const server = await start({ timeoutMs: TIMEOUT_MS });
    const client = await connect(server);
    client.socket.pause();
    await client.write(GET_CLOSE('/stream'));
    await sleep(TIMEOUT_MS * 5);
    client.socket.resume();
    expect(await client.finish()).not.toBe('timeout');
    expect(client.received.length).toBeLessThan(64 * 1024 * 1024);
    await expectServing(server);
  });

  test("off by default, as in Django: an idle connection stays open (a request sent later is answered on it)", async () => {
    const server = await start();
    const client = await connect(server);
    await sleep(TIMEOUT_MS * 3);
    expect(client.endedAs).toBeNull();
    await client.write(GET_CLOSE('/late'));
    expect(await client.finish()).toBe('eof');
    expect(client.received.toString('latin1')).toMatch(/\r\n\r\nhello$/);
  });
});

describe('maxConnections', { timeout: TEST_MS }, () => {
  test('beyond it a connection waits, unread, until one being served ends; then it is served', async () => {
    const server = await start({ maxConnections: 2 });
    const holders = [await connect(server), await connect(server)];
    await holders[0]!.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    expect(await holders[0]!.waitFor((r) => r.toString('latin1').endsWith('hello'))).toBe(true);
    const queued = await connect(server);
    await queued.write(GET_CLOSE('/queued'));
    await sleep(TIMEOUT_MS);
    expect(queued.received).toHaveLength(0);
    holders[1]!.socket.destroy();
    expect(await queued.finish()).toBe('eof');
    expect(queued.received.toString('latin1')).toMatch(/\r\n\r\nhello$/);
  });
});

describe('h1spec serve --timeout and --max-connections', { timeout: TEST_MS }, () => {
  test('with --max-connections 1, a client queued behind an idle one is served once --timeout sheds the idle one', async () => {
    const target = await spawnTarget(`${process.execPath} bin/h1spec.mjs serve --app hello --port {port} --timeout 0.3 --max-connections 1`, { cwd: REPO_ROOT });
    const idle = await RawClient.connect(target.endpoint);
    const queued = await RawClient.connect(target.endpoint);
    try {
      await queued.write(GET_CLOSE('/queued'));
      expect(await idle.finish()).toBe('eof');
      expect(idle.received).toHaveLength(0);
      expect(await queued.finish()).toBe('eof');
      expect(queued.received.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello$/);
    } finally {
      idle.socket.destroy();
      queued.socket.destroy();
      await target.stop();
    }
  });
});
