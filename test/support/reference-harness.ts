/**
 * What the reference server's layer tests share: the server started in-process with its log captured, a raw TCP
 * client that reports how the connection ended, and a way to observe one connection on any server (the reference or
 * real Django) in a form that can be compared byte for byte.
 */
import net from 'node:net';
import type { Application } from '../../reference/gateway.ts';
import { WSGIServer, type ServerOptions } from '../../reference/server.ts';
import { ServerLog } from '../../reference/server-log.ts';
import { SERVER_SOFTWARE_HEADER } from '../../reference/server-handler.ts';
import type { Endpoint } from '../../conformance/wire/types.ts';
import { startDjangoPeer, type LogRecord, type ServingPeer } from './python-oracle.ts';
import { catalogueApplication } from './wsgi-catalogue.ts';

/** Generous: the test machine may be loaded, and these bound waits for things that normally take milliseconds. */
export const WAIT_MS = 15_000;
/** Starting real Django means importing it, which a loaded machine can make slow. */
export const PEER_START_MS = 60_000;
/** For a test file's `vi.setConfig`: above any one wait, with room for the marker request that follows it. */
export const TEST_TIMEOUT_MS = 2 * WAIT_MS + 10_000;

/** Polls `condition` until it holds or `timeoutMs` passes; says which. */
export async function waitUntil(condition: () => boolean, timeoutMs = WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

export interface ReferencePeer extends ServingPeer {
  readonly server: WSGIServer;
  /** What the server wrote besides log records: tracebacks and the application's `wsgi.errors`. */
  readonly raw: string[];
}

type ReferenceOptions = Partial<Omit<ServerOptions, 'log' | 'application'>> & { application: Application };

/** The reference server on an ephemeral port, logging in the JSON format so each record keeps its level. */
export async function startReferencePeer(options: ReferenceOptions): Promise<ReferencePeer> {
  const records: LogRecord[] = [];
  const raw: string[] = [];
  const log = new ServerLog((text) => {
    const record = text.startsWith('{"time"') ? (JSON.parse(text) as LogRecord) : null;
    if (record) records.push({ level: record.level, message: record.message });
    else raw.push(text);
  }, 'json');
  const server = await WSGIServer.start({ host: '127.0.0.1', port: 0, threaded: true, ...options, log });
  return {
    label: `reference (${server.host})`,
    endpoint: { host: server.host, port: server.port },
    records,
    raw,
    server,
    stop: () => server.close(),
  };
}

/** Both ends of one loopback TCP connection: `near` is the test's end, `far` the end the code under test reads and writes. */
export async function socketPair(): Promise<{ near: net.Socket; far: net.Socket }> {
  const listener = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const near = net.connect({ host: '127.0.0.1', port: (listener.address() as net.AddressInfo).port, allowHalfOpen: true });
  const far = await accepted;
  listener.close();
  return { near, far };
}

/** How a connection ended for the client: a FIN, a reset, or nothing before the client gave up. */
export type Ending = 'eof' | 'reset' | 'timeout';

/** A client socket that keeps everything it receives; its own sending side stays open after the server's FIN. */
export class RawClient {
  private readonly chunks: Buffer[] = [];
  private ending: 'eof' | 'reset' | null = null;
  private readonly ended: Promise<'eof' | 'reset'>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    this.ended = new Promise((resolve) => {
      const settle = (how: 'eof' | 'reset') => resolve((this.ending ??= how));
      socket.on('end', () => settle('eof'));
      socket.on('error', () => settle('reset'));
      socket.on('close', () => settle('eof'));
    });
  }

  static connect(endpoint: Endpoint): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Set once the server's FIN or a reset arrived. */
  get endedAs(): 'eof' | 'reset' | null {
    return this.ending;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** shutdown(SHUT_WR): the server reads end of stream, and can still answer. */
  halfClose(): void {
    this.socket.end();
  }

  /** An abortive close: the server's next read or write on the connection fails with a reset. */
  reset(): void {
    this.ending ??= 'reset';
    this.socket.resetAndDestroy();
  }

  /** Whether `condition` came to hold over the bytes received before the connection ended or `timeoutMs` passed. */
  async waitFor(condition: (received: Buffer) => boolean, timeoutMs = WAIT_MS): Promise<boolean> {
    await waitUntil(() => condition(this.received) || this.ending !== null, timeoutMs);
    return condition(this.received);
  }

  /** Waits for the server to end the connection, at most `timeoutMs`, then releases the socket. */
  async finish(timeoutMs = WAIT_MS): Promise<Ending> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const ending = await Promise.race([this.ended, timedOut]);
    clearTimeout(timer);
    this.socket.destroy();
    return ending;
  }
}

/** What a client does on one connection before it waits for the server to end it. */
export type Script = (client: RawClient) => Promise<void>;

/** The common script: write the pieces in order, then optionally half-close. */
export function send(pieces: ReadonlyArray<string | Buffer>, { halfClose = false } = {}): Script {
  return async (client) => {
    for (const piece of pieces) await client.write(piece);
    if (halfClose) client.halfClose();
  };
}

/** Runs a script on a fresh connection and returns everything received and how the connection ended. */
export async function converse(endpoint: Endpoint, script: Script, timeoutMs = WAIT_MS): Promise<{ received: Buffer; ending: Ending }> {
  const client = await RawClient.connect(endpoint);
  await script(client);
  const ending = await client.finish(timeoutMs);
  return { received: client.received, ending };
}

/** One connection as seen from outside the server, reduced to what must not differ between two servers. */
export interface Observation {
  text: string;
  ending: Ending;
  records: LogRecord[];
}

const HTTP_DATE = /[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT/g;
/** A client address as Python prints it, `('127.0.0.1', 51234)` or `('::1', 51234, 0, 0)`: the port is the client's. */
const ADDRESS_TUPLE_PORT = /(\('[^']*', )\d+/g;

/** Dates and ephemeral ports differ between any two runs; everything else must match. */
function comparable(peer: ServingPeer, text: string): string {
  return text.replace(HTTP_DATE, '<date>').replaceAll(`SERVER_PORT: ${peer.endpoint.port}\n`, 'SERVER_PORT: <port>\n');
}

let markers = 0;

/**
 * The log records a server wrote for whatever `action` did. A marker request afterwards bounds them: each server
 * logs a connection's records before it ends that connection, so once the marker's own access line is there, so
 * are the records before it.
 */
async function recordsDuring(peer: ServingPeer, action: () => Promise<void>): Promise<LogRecord[]> {
  const start = peer.records.length;
  await action();
  const path = `/hello/marker-${++markers}`;
  const markerMessage = `"GET ${path} HTTP/1.0" 200 5`;
  await converse(peer.endpoint, send([`GET ${path} HTTP/1.0\r\n\r\n`]));
  const logged = () => peer.records.findIndex((record, i) => i >= start && record.message === markerMessage);
  if (!(await waitUntil(() => logged() >= 0))) throw new Error(`${peer.label} never logged ${markerMessage}`);
  return peer.records.slice(start, logged()).map((record) => ({ ...record, message: record.message.replace(ADDRESS_TUPLE_PORT, '$1<port>') }));
}

export interface ObserveOptions {
  timeoutMs?: number;
  /**
   * For a connection the client resets: the server may log after the client is gone, so wait (bounded, without
   * failing) until the records satisfy this before the marker request.
   */
  settled?: (records: readonly LogRecord[]) => boolean;
}

/** Runs `script` on one connection to `peer` and observes the bytes, the ending and the log records. */
export async function observe(peer: ServingPeer, script: Script, { timeoutMs = WAIT_MS, settled }: ObserveOptions = {}): Promise<Observation> {
  let exchange!: { received: Buffer; ending: Ending };
  const records = await recordsDuring(peer, async () => {
    const start = peer.records.length;
    exchange = await converse(peer.endpoint, script, timeoutMs);
    if (settled) await waitUntil(() => settled(peer.records.slice(start)), timeoutMs);
  });
  return { text: comparable(peer, exchange.received.toString('latin1')), ending: exchange.ending, records };
}

/** The reference and real Django, both serving the catalogue, threaded or not. */
export interface Pair {
  reference: ReferencePeer;
  django: ServingPeer;
}

export async function startPair({ threaded, host = '127.0.0.1' }: { threaded: boolean; host?: string }): Promise<Pair> {
  const [reference, django] = await Promise.all([
    startReferencePeer({ application: catalogueApplication, threaded, host }),
    startDjangoPeer({ threaded, host }),
  ]);
  return { reference, django };
}

export async function stopPair(pair: Pair | undefined): Promise<void> {
  await Promise.all([pair?.reference.stop(), pair?.django.stop()]);
}

/** The same connection on both servers, at the same time: `theirs` is Django's, `ours` the reference's. */
export async function both(pair: Pair, script: Script, options: ObserveOptions = {}): Promise<{ ours: Observation; theirs: Observation }> {
  const [ours, theirs] = await Promise.all([observe(pair.reference, script, options), observe(pair.django, script, options)]);
  return { ours, theirs };
}

// ---- request and response text ----

export const request = (method: string, path: string, headers = '', body = '') => `${method} ${path} HTTP/1.1\r\nHost: t\r\n${headers}\r\n${body}`;
export const get = (path: string, headers = '') => request('GET', path, headers);
export const getClosing = (path: string) => get(path, 'Connection: close\r\n');

/** A response head as both servers write it for an application's response, its Date normalised by `comparable`. */
export const responseHead = (status: string, fields: string) => `HTTP/1.1 ${status}\r\nDate: <date>\r\nServer: ${SERVER_SOFTWARE_HEADER}\r\n${fields}\r\n`;
export const HELLO = responseHead('200 OK', 'Content-Type: text/plain\r\nContent-Length: 5\r\n') + 'hello';

/** The access line `log_request` writes, at the level Django's `log_message` picks for the status. */
export const accessRecord = (requestLine: string, status: number, size: number | string): LogRecord => ({
  level: status >= 500 ? 'ERROR' : status >= 400 ? 'WARNING' : 'INFO',
  message: `"${requestLine}" ${status} ${size}`,
});

/** http.server's error page (`send_error`); Django writes it alone, without status line or headers, before a version is accepted. */
export function errorPage(code: number, message: string, explain: string): string {
  return `<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: ${code}</p>
        <p>Message: ${message}.</p>
        <p>Error code explanation: ${code} - ${explain}.</p>
    </body>
</html>
`;
}

/** `send_error` once a version was accepted: its own Server header (Python, not CPython), then Date, then the page. */
export function errorResponse(code: number, reason: string, message: string, explain: string): string {
  const page = errorPage(code, message, explain);
  return (
    `HTTP/1.1 ${code} ${reason}\r\nServer: WSGIServer/0.2 Python/3.11.2\r\nDate: <date>\r\nConnection: close\r\n` +
    `Content-Type: text/html;charset=utf-8\r\nContent-Length: ${Buffer.byteLength(page)}\r\n\r\n${page}`
  );
}
