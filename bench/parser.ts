/**
 * Section 5: the reference's request parsing on its own, in-process: request line and head, as the request handler
 * reads them from its connection (`parseRequest`: the request-line rules, `http.client.parse_headers`' limits, the
 * email feed parser's field rules), over a fixed corpus fed from memory. llhttp's published figure is beside it for
 * scale only: a C state machine is not a port of Python's parser, and its benchmark request is the first of the corpus.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { WSGIRequestHandler, type ServerContext } from '../reference/request-handler.ts';
import { ServerHandler } from '../reference/server-handler.ts';
import { ServerLog } from '../reference/server-log.ts';

export interface ParserOptions {
  /** How long each timed round runs. */
  roundMs: number;
  rounds: number;
}

export interface ParserReport {
  options: ParserOptions;
  corpus: Array<{ name: string; bytes: number }>;
  requestsPerSecond: number;
  megabytesPerSecond: number;
  llhttp: { requestsPerSecond: number; megabytesPerSecond: number; source: string };
}

/** llhttp's README benchmark (its `bench` script, `http: "seq"`), on the machine its authors used. */
export const LLHTTP = {
  requestsPerSecond: 3_580_000,
  megabytesPerSecond: 1777,
  source: 'llhttp README, "Performance" (bench/ of nodejs/llhttp)',
} as const;

/** The request of llhttp's benchmark (its chunked body left out: Django reads no chunked body), then everyday shapes. */
export const CORPUS: ReadonlyArray<{ name: string; text: string }> = [
  {
    name: 'llhttp benchmark head',
    text:
      'POST /joyent/http-parser HTTP/1.1\r\nHost: github.com\r\nDNT: 1\r\nAccept-Encoding: gzip, deflate, sdch\r\n' +
      'Accept-Language: ru-RU,ru;q=0.8,en-US;q=0.6,en;q=0.4\r\n' +
      'User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/39.0.2171.65 Safari/537.36\r\n' +
      'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8\r\n' +
      'Referer: https://github.com/joyent/http-parser\r\nConnection: keep-alive\r\nCache-Control: max-age=0\r\n\r\n',
  },
  { name: 'wrk GET', text: 'GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n' },
  {
    name: 'browser GET with query and cookies',
    text:
      'GET /search?q=h1spec&page=2 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n' +
      'Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n' +
      'Cookie: sessionid=abc123; csrftoken=def456\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\n\r\n',
  },
  { name: 'HTTP/1.0 HEAD', text: 'HEAD /status HTTP/1.0\r\nUser-Agent: curl/8.0\r\n\r\n' },
];

/** Just enough of a socket for the request handler's reader: data is pushed in by the benchmark. */
class MemorySocket extends EventEmitter {
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
}

/** The request handler with its connection in memory, asked only to parse. */
class ParsingHandler extends WSGIRequestHandler {
  /** Parses the next request of the stream; its fields are left in `headers`, as for a served request. */
  async parseNext(): Promise<boolean> {
    const line = this.rfile.readlineBuffered(this.maxRequestLine + 1) ?? (await this.rfile.readline(this.maxRequestLine + 1));
    return this.parseRequest(line);
  }
}

const CONTEXT: ServerContext = {
  baseEnviron: {},
  threaded: true,
  application: () => [],
  log: new ServerLog(() => {}),
  errors: { write: () => {}, flush: () => {} },
  serverHandlerClass: ServerHandler,
  osEnviron: {},
};

/** Copies of the corpus fed at once, so the reader holds whole heads as it would after a read from a busy socket. */
const BATCH = 64;

export async function measureParser(options: ParserOptions): Promise<ParserReport> {
  const socket = new MemorySocket();
  const handler = new ParsingHandler(socket as unknown as Socket, CONTEXT, '127.0.0.1');
  const corpus = CORPUS.map(({ name, text }) => ({ name, bytes: Buffer.from(text, 'latin1') }));
  const batch = Buffer.concat(Array.from({ length: BATCH }, () => corpus.map((c) => c.bytes)).flat());
  const requestsPerBatch = BATCH * corpus.length;
  const runFor = async (ms: number) => {
    let batches = 0;
    const started = performance.now();
    do {
      socket.emit('data', batch);
      for (let i = 0; i < requestsPerBatch; i++) {
        if (!(await handler.parseNext())) throw new Error('the corpus did not parse');
      }
      batches++;
    } while (performance.now() - started < ms);
    return { batches, seconds: (performance.now() - started) / 1000 };
  };
  await runFor(options.roundMs);
  let best = { requestsPerSecond: 0, megabytesPerSecond: 0 };
  for (let round = 0; round < options.rounds; round++) {
    const { batches, seconds } = await runFor(options.roundMs);
    const requestsPerSecond = (batches * requestsPerBatch) / seconds;
    if (requestsPerSecond > best.requestsPerSecond) best = { requestsPerSecond, megabytesPerSecond: (batches * batch.length) / 1e6 / seconds };
  }
  return { options, corpus: corpus.map(({ name, bytes }) => ({ name, bytes: bytes.length })), ...best, llhttp: LLHTTP };
}
