/**
 * The probe application (probe.ts) behind Node's own HTTP server, node:http, so the matrix can judge node:http:
 *
 *   node --import tsx conformance/probes/node-http-probe.ts PORT
 *
 * node:http is not a WSGI server: this adapter builds a CGI-style environ from what node:http parsed (method, target,
 * version, headers as received) and hands the probe a body node:http has already de-framed. The environ is the
 * adapter's own work, so node:http is judged on what the wire shows (the rfc profile), not on the environ.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Environ, HeaderList, InputStream, ResponseBody } from '../../reference/gateway.ts';
import { probeApplication } from './probe.ts';

const HOST = '127.0.0.1';
const ERROR_BODY = Buffer.from('A server error occurred.  Please contact the administrator.');

/** `%XX` decoded to bytes, read as latin-1, as a WSGI server fills PATH_INFO. */
function percentDecodedLatin1(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A body already read in full, served in pieces as the probe asks for them. */
function bufferedInput(body: Buffer): InputStream {
  let offset = 0;
  const take = (end: number): Buffer => {
    const piece = body.subarray(offset, end);
    offset = end;
    return piece;
  };
  return {
    read: async (size) => take(size === undefined ? body.length : Math.min(body.length, offset + size)),
    readline: async (size) => {
      const lf = body.indexOf(0x0a, offset);
      const lineEnd = lf === -1 ? body.length : lf + 1;
      return take(size === undefined ? lineEnd : Math.min(lineEnd, offset + size));
    },
  };
}

function environOf(request: http.IncomingMessage, body: Buffer): Environ {
  const url = request.url ?? '/';
  const question = url.indexOf('?');
  const socket = request.socket;
  const environ: Environ = {
    REQUEST_METHOD: request.method ?? '',
    SCRIPT_NAME: '',
    PATH_INFO: percentDecodedLatin1(question === -1 ? url : url.slice(0, question)),
    QUERY_STRING: question === -1 ? '' : url.slice(question + 1),
    SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
    SERVER_NAME: (socket.address() as AddressInfo).address,
    SERVER_PORT: String(socket.localPort),
    REMOTE_ADDR: socket.remoteAddress ?? '',
    SERVER_SOFTWARE: `node/${process.versions.node}`,
    'wsgi.version': [1, 0],
    'wsgi.url_scheme': 'http',
    'wsgi.input': bufferedInput(body),
    'wsgi.errors': { write: (text: string) => process.stderr.write(text), flush: () => {} },
    'wsgi.multithread': false,
    'wsgi.multiprocess': false,
    'wsgi.run_once': false,
    // node:http de-frames the body (Content-Length or chunked) before the application sees it.
    'wsgi.input_terminated': true,
  };
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toUpperCase().replace(/-/g, '_');
    const key = name === 'CONTENT_LENGTH' || name === 'CONTENT_TYPE' ? name : `HTTP_${name}`;
    const previous = environ[key];
    environ[key] = typeof previous === 'string' ? `${previous},${raw[i + 1]!}` : raw[i + 1]!;
  }
  return environ;
}

function readAll(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const pieces: Buffer[] = [];
    request.on('data', (piece: Buffer) => pieces.push(piece));
    request.on('end', () => resolveBody(Buffer.concat(pieces)));
    request.on('error', reject);
  });
}

async function serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const environ = environOf(request, await readAll(request));
  let body: ResponseBody;
  try {
    body = await probeApplication(environ, (status: string, headers: HeaderList) => {
      const space = status.indexOf(' ');
      response.writeHead(Number(status.slice(0, space)), status.slice(space + 1), headers);
      return async (data: Buffer) => void response.write(data);
    });
  } catch {
    response.writeHead(500, { 'Content-Type': 'text/plain', 'Content-Length': ERROR_BODY.length });
    response.end(ERROR_BODY);
    return;
  }
  try {
    for await (const chunk of body) response.write(chunk);
    response.end();
  } catch {
    // The headers are out: all a server can do is cut the response short.
    response.destroy();
  }
}

export function startNodeHttpProbe(port: number): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    serve(request, response).catch(() => response.destroy());
  });
  return new Promise((resolveServer, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => resolveServer(server));
  });
}

async function main(argv: string[]): Promise<void> {
  const port = Number(argv[0]);
  if (!/^\d+$/.test(argv[0] ?? '') || port > 65535) {
    process.stderr.write('usage: node-http-probe.ts PORT\n');
    process.exit(2);
  }
  const server = await startNodeHttpProbe(port);
  process.stdout.write(`node:http ${process.version} serving the h1spec probe on http://${HOST}:${port}/\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close();
      server.closeAllConnections();
    });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
