import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { Deadline, exchange, formatEndpoint, LIVENESS_REQUEST, RawConnection } from '../conformance/wire/client.ts';
import { pipeline, request } from '../conformance/wire/request.ts';
import type { Endpoint } from '../conformance/wire/types.ts';

const TIMEOUT_MS = 4000;
/** For the cases where nothing but a timeout can end the wait. */
const SHORT_TIMEOUT_MS = 150;

interface TestServer {
  endpoint: Endpoint;
  /** Every byte each connection sent the server, in connection order. */
  received: Buffer[][];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A TCP server on a loopback address; its sockets keep their read side open after they end their own (half-close). */
async function serve(onConnection: (socket: net.Socket) => void, host = '127.0.0.1'): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const received: Buffer[][] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    const chunks: Buffer[] = [];
    received.push(chunks);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  const testServer: TestServer = {
    endpoint: { host, port },
    received,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(testServer);
  return testServer;
}

/** Calls `onHead` with the request line and each header-section end, plus the bytes that follow, as requests arrive. */
function onRequests(socket: net.Socket, onHead: (requestLine: string, after: () => Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
      const requestLine = buffered.subarray(0, buffered.indexOf('\r\n')).toString('latin1');
      buffered = buffered.subarray(end + 4);
      onHead(requestLine, () => buffered);
    }
  });
}

const ok = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
const pathOf = (requestLine: string) => requestLine.split(' ')[1] ?? '';
const get = (path: string) => request('GET', path, 'HTTP/1.1', [['Host', 'test']]);

/** Answers every request with its path as the body (HEAD: headers only), and keeps the connection open. */
const keepAlive = (socket: net.Socket) =>
  onRequests(socket, (requestLine) => {
    const response = ok(pathOf(requestLine));
    socket.write(requestLine.startsWith('HEAD ') ? response.slice(0, response.indexOf('\r\n\r\n') + 4) : response);
  });

/** Answers the first request, then half-closes (FIN) while still reading. */
const answerThenHalfClose = (socket: net.Socket) => onRequests(socket, (requestLine) => socket.end(ok(pathOf(requestLine))));

const allReceived = (server: TestServer, connection = 0) => Buffer.concat(server.received[connection] ?? []).toString('latin1');

describe('exchange', () => {
  test('a server that answers and closes: eof, the response complete, bytes exact both ways', async () => {
    const server = await serve(answerThenHalfClose);
    const sent = get('/hello');
    const conversation = await exchange(server.endpoint, sent, { methods: ['GET'], timeoutMs: TIMEOUT_MS });
    expect(conversation.close).toBe('eof');
    expect(conversation.sent.equals(sent)).toBe(true);
    expect(conversation.received.toString('latin1')).toBe(ok('/hello'));
    expect(conversation.responses).toHaveLength(1);
    expect(conversation.responses[0]).toMatchObject({ status: 200, complete: true, framing: 'content-length' });
    expect(conversation.responses[0]!.body.toString()).toBe('/hello');
    expect(conversation.truncated).toBeUndefined();
  });

  test("after: 'probe' on a keep-alive server: open, and the liveness response is part of the conversation", async () => {
    const server = await serve(keepAlive);
    const conversation = await exchange(server.endpoint, get('/first'), { methods: ['GET'], timeoutMs: TIMEOUT_MS, after: 'probe' });
    expect(conversation.close).toBe('open');
    expect(conversation.sent.equals(Buffer.concat([get('/first'), LIVENESS_REQUEST]))).toBe(true);
    expect(conversation.responses.map((r) => r.body.toString())).toEqual(['/first', '/h1spec-liveness']);
  });

  test("after: 'none' stops once the responses are read", async () => {
    const server = await serve(keepAlive);
    const conversation = await exchange(server.endpoint, get('/x'), { methods: ['GET'], timeoutMs: TIMEOUT_MS, after: 'none' });
    expect(conversation.close).toBe('open');
    expect(conversation.responses.map((r) => r.body.toString())).toEqual(['/x']);
  });

  test('pipelined requests are framed by their own methods', async () => {
    const server = await serve(keepAlive);
    const requests = pipeline(get('/a'), request('HEAD', '/b', 'HTTP/1.1', [['Host', 'test']]), get('/c'));
    const conversation = await exchange(server.endpoint, requests, { methods: ['GET', 'HEAD', 'GET'], timeoutMs: TIMEOUT_MS, after: 'none' });
    expect(conversation.responses.map((r) => [r.body.toString(), r.framing, r.complete])).toEqual([
      ['/a', 'content-length', true],
      ['', 'none', true],
      ['/c', 'content-length', true],
    ]);
  });

  test("after: 'close' on a server that keeps the connection: timeout, the response kept", async () => {
    const server = await serve(keepAlive);
    const conversation = await exchange(server.endpoint, get('/k'), { methods: ['GET'], timeoutMs: SHORT_TIMEOUT_MS });
    expect(conversation.close).toBe('timeout');
    expect(conversation.responses[0]).toMatchObject({ status: 200, complete: true });
  });

  test('a server that never answers: timeout, nothing received, the request recorded', async () => {
    const server = await serve(() => {});
    const conversation = await exchange(server.endpoint, get('/silent'), { methods: ['GET'], timeoutMs: SHORT_TIMEOUT_MS });
    expect(conversation).toMatchObject({ close: 'timeout', responses: [] });
    expect(conversation.received).toHaveLength(0);
    expect(conversation.sent.equals(get('/silent'))).toBe(true);
  });

  test('a server that resets the connection: reset, never a throw', async () => {
    const server = await serve((socket) => onRequests(socket, () => socket.resetAndDestroy()));
    const conversation = await exchange(server.endpoint, get('/'), { methods: ['GET'], timeoutMs: TIMEOUT_MS });
    expect(conversation).toMatchObject({ close: 'reset', responses: [] });
  });

  test('writing to a connection the server reset at once does not throw', async () => {
    const server = await serve((socket) => socket.resetAndDestroy());
    const conversation = await exchange(server.endpoint, Buffer.alloc(4 * 1024 * 1024, 0x41), { methods: [], timeoutMs: TIMEOUT_MS });
    expect(conversation.close).toBe('reset');
  });

  test('halfClose sends FIN after the request, for servers that answer only then; strings go out as latin-1', async () => {
    const server = await serve((socket) => socket.on('end', () => socket.end('<p>bad request version</p>')));
    const conversation = await exchange(server.endpoint, '\x16\x03\x01\x00\x05\xc0hello', { methods: ['GET'], timeoutMs: TIMEOUT_MS, halfClose: true });
    expect(conversation.close).toBe('eof');
    expect(conversation.responses).toHaveLength(1);
    expect(conversation.responses[0]).toMatchObject({ kind: 'bare', complete: true });
    expect(conversation.responses[0]!.body.toString()).toBe('<p>bad request version</p>');
    expect(allReceived(server)).toBe('\x16\x03\x01\x00\x05\xc0hello');
  });

  test('segments are written in order, with their pauses', async () => {
    const server = await serve(keepAlive);
    const segments = [
      { bytes: Buffer.from('GET /seg'), pauseAfterMs: 10 },
      { bytes: Buffer.from(' HTTP/1.1\r\nX: '), pauseAfterMs: 10 },
      { bytes: Buffer.from('\xe9\r\n\r\n', 'latin1') },
    ];
    const conversation = await exchange(server.endpoint, segments, { methods: ['GET'], timeoutMs: TIMEOUT_MS, after: 'none' });
    expect(conversation.sent.toString('latin1')).toBe('GET /seg HTTP/1.1\r\nX: \xe9\r\n\r\n');
    expect(allReceived(server)).toBe('GET /seg HTTP/1.1\r\nX: \xe9\r\n\r\n');
    expect(conversation.responses[0]!.body.toString()).toBe('/seg');
  });

  test('maxBytes stops reading and marks the conversation truncated', async () => {
    const server = await serve((socket) => onRequests(socket, () => socket.write(ok('z'.repeat(100_000)))));
    const conversation = await exchange(server.endpoint, get('/big'), { methods: ['GET'], timeoutMs: TIMEOUT_MS, maxBytes: 1000 });
    expect(conversation.received).toHaveLength(1000);
    expect(conversation.truncated).toBe(true);
    expect(conversation.close).toBe('open');
    expect(conversation.responses[0]).toMatchObject({ status: 200, complete: false });
  });

  test('a refused connection rejects with the endpoint named and the code kept', async () => {
    const server = await serve(() => {});
    const endpoint = server.endpoint;
    await server.close();
    const error = await exchange(endpoint, get('/'), { methods: ['GET'], timeoutMs: TIMEOUT_MS }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect((error as Error).message).toContain(`cannot connect to 127.0.0.1:${endpoint.port}`);
  });

  test('IPv6 loopback works', async (ctx) => {
    const server = await serve(answerThenHalfClose, '::1').catch((err: Error) => ctx.skip(`IPv6 ::1 is not available here: ${err.message}`));
    expect(formatEndpoint(server.endpoint)).toBe(`[::1]:${server.endpoint.port}`);
    const conversation = await exchange(server.endpoint, get('/v6'), { methods: ['GET'], timeoutMs: TIMEOUT_MS });
    expect(conversation.close).toBe('eof');
    expect(conversation.responses[0]!.body.toString()).toBe('/v6');
  });
});

describe('RawConnection', () => {
  const connect = (server: TestServer, timeoutMs = TIMEOUT_MS) => RawConnection.open(server.endpoint, { timeoutMs });

  test('reads responses one request at a time, each read with its own methods', async () => {
    const server = await serve(keepAlive);
    const connection = await connect(server);
    try {
      await connection.write(get('/one'));
      expect((await connection.readResponses(['GET'], 1)).map((r) => r.body.toString())).toEqual(['/one']);
      await connection.write(request('HEAD', '/two', 'HTTP/1.1', []));
      const [head] = await connection.readResponses(['HEAD'], 1);
      expect(head).toMatchObject({ framing: 'none', complete: true, headers: [['Content-Length', '4']] });
      expect(connection.conversation().responses).toHaveLength(2);
    } finally {
      connection.destroy();
    }
  });

  test('a reset after complete responses keeps them', async () => {
    const server = await serve((socket) =>
      onRequests(socket, (requestLine) => (pathOf(requestLine) === '/reset' ? socket.resetAndDestroy() : socket.write(ok('kept')))),
    );
    const connection = await connect(server);
    try {
      await connection.write(get('/'));
      expect(await connection.readResponses(['GET'], 1)).toHaveLength(1);
      await connection.write(get('/reset'));
      expect(await connection.waitForClose()).toBe('reset');
      const conversation = connection.conversation();
      expect(conversation.close).toBe('reset');
      expect(conversation.responses).toHaveLength(1);
      expect(conversation.responses[0]).toMatchObject({ complete: true });
      expect(conversation.responses[0]!.body.toString()).toBe('kept');
    } finally {
      connection.destroy();
    }
  });

  test('a server that half-closes: eof, while our side stays open for writing', async () => {
    const server = await serve(answerThenHalfClose);
    const connection = await connect(server);
    try {
      await connection.write(get('/'));
      await connection.readResponses(['GET'], 1);
      expect(await connection.waitForClose()).toBe('eof');
      expect(await connection.isStillOpen()).toBe('eof');
      await connection.write('still writing');
      await waitFor(() => allReceived(server).endsWith('still writing'));
      expect(connection.conversation().close).toBe('eof');
    } finally {
      connection.destroy();
    }
  });

  test('isStillOpen tells a closing server without waiting for a timeout', async () => {
    const server = await serve(answerThenHalfClose);
    const connection = await connect(server, 60_000);
    try {
      await connection.write(get('/'));
      await connection.readResponses(['GET'], 1);
      // With a one-minute deadline, only the FIN can end this wait within the test's own timeout.
      expect(await connection.isStillOpen()).toBe('eof');
    } finally {
      connection.destroy();
    }
  });

  test('isStillOpen reports a reset, and a timeout when the server goes quiet', async () => {
    const resetting = await serve((socket) =>
      onRequests(socket, (requestLine) => (pathOf(requestLine) === '/h1spec-liveness' ? socket.resetAndDestroy() : socket.write(ok('a')))),
    );
    const quiet = await serve((socket) => onRequests(socket, (requestLine) => pathOf(requestLine) === '/' && socket.write(ok('a'))));
    for (const [server, expected] of [
      [resetting, 'reset'],
      [quiet, 'timeout'],
    ] as const) {
      const connection = await connect(server, SHORT_TIMEOUT_MS);
      try {
        await connection.write(get('/'));
        await connection.readResponses(['GET'], 1);
        expect(await connection.isStillOpen()).toBe(expected);
        expect(connection.conversation().close).toBe(expected);
      } finally {
        connection.destroy();
      }
    }
  });

  test('readResponses returns what it has when the deadline passes, the last response incomplete', async () => {
    const server = await serve((socket) => onRequests(socket, () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf')));
    const connection = await connect(server, SHORT_TIMEOUT_MS);
    try {
      await connection.write(get('/'));
      const responses = await connection.readResponses(['GET'], 1);
      expect(responses).toHaveLength(1);
      expect(responses[0]).toMatchObject({ complete: false });
      expect(responses[0]!.body.toString()).toBe('half');
      expect(connection.conversation().close).toBe('timeout');
    } finally {
      connection.destroy();
    }
  });

  test('readInterim returns 100 Continue before the body is sent; the final response carries it', async () => {
    const server = await serve((socket) =>
      onRequests(socket, (_, after) => {
        socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        const answerOnceBodyIn = () => {
          if (after().length < 5) return;
          socket.off('data', answerOnceBodyIn);
          socket.write(ok(`got ${after().subarray(0, 5).toString()}`));
        };
        socket.on('data', answerOnceBodyIn);
        answerOnceBodyIn();
      }),
    );
    const connection = await connect(server);
    try {
      await connection.write(request('POST', '/', 'HTTP/1.1', [['Expect', '100-continue'], ['Content-Length', '5']]));
      const interim = await connection.readInterim(['POST']);
      expect(interim).toMatchObject({ status: 100, reason: 'Continue' });
      expect(allReceived(server)).not.toContain('hello');
      await connection.write('hello');
      const [final] = await connection.readResponses([], 1);
      expect(final).toMatchObject({ status: 200, complete: true });
      expect(final!.body.toString()).toBe('got hello');
      expect(final!.interim.map((r) => r.status)).toEqual([100]);
    } finally {
      connection.destroy();
    }
  });

  test('readInterim returns null when the final response comes first, without waiting out the deadline', async () => {
    const server = await serve(keepAlive);
    const connection = await connect(server, 60_000);
    try {
      await connection.write(get('/'));
      expect(await connection.readInterim(['GET'])).toBeNull();
      expect((await connection.readResponses([], 1))[0]!.body.toString()).toBe('/');
    } finally {
      connection.destroy();
    }
  });

  test('one Deadline can bound several operations', async () => {
    const server = await serve(() => {});
    const deadline = new Deadline(SHORT_TIMEOUT_MS);
    const connection = await RawConnection.open(server.endpoint, { deadline });
    try {
      await connection.write(get('/'), deadline);
      expect(await connection.readResponses(['GET'], 1, deadline)).toEqual([]);
      expect(deadline.expired).toBe(true);
      // The deadline has passed: later waits on it end at once.
      expect(await connection.waitForClose(deadline)).toBe('timeout');
      expect(await connection.isStillOpen(deadline)).toBe('timeout');
    } finally {
      connection.destroy();
      deadline.cancel();
    }
  });
});

/** Polls a condition the test cannot await directly (bytes reaching the test server), bounded in count. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !condition(); attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
