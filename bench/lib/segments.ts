/**
 * How many TCP segments with data a server sends per response, read from the kernel (`ss -ti`, tcpi_data_segs_out)
 * for one keep-alive connection: a server that writes a response's head and body apart shows more than one.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { ResponseStream } from '../../conformance/wire/response-parser.ts';
import type { Endpoint } from '../../conformance/wire/types.ts';

/** The server's data segments on the connection whose client end is `clientPort`. */
function serverDataSegments(endpoint: Endpoint, clientPort: number): number {
  const filter = `( sport = :${endpoint.port} and dport = :${clientPort} )`;
  const text = execFileSync('ss', ['-tinH', 'state', 'established', filter], { encoding: 'latin1', timeout: 5000 });
  const match = /data_segs_out:(\d+)/.exec(text);
  // A connection that never carried data has no data_segs_out field at all.
  return match ? Number(match[1]) : 0;
}

/**
 * Sends `count` GETs one after another on one connection, each once the previous response is complete, and divides
 * the server's data segments by the responses. Rejects when the server does not answer them all within `timeoutMs`.
 */
export async function segmentsPerResponse(endpoint: Endpoint, count: number, timeoutMs: number): Promise<number> {
  const methods: string[] = [];
  const responses = new ResponseStream(methods);
  const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
  const timer = setTimeout(() => socket.destroy(new Error(`no ${count} answers within ${timeoutMs} ms`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      const request = Buffer.from(`GET / HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\n\r\n`, 'latin1');
      const ask = () => {
        methods.push('GET');
        socket.write(request);
      };
      socket.on('connect', ask);
      socket.on('data', (chunk: Buffer) => {
        responses.append(chunk);
        if (responses.settledCount() < methods.length) return;
        if (methods.length < count) ask();
        else resolve();
      });
      socket.on('error', reject);
      socket.on('end', () => reject(new Error(`the server closed the connection after ${responses.settledCount()} responses`)));
    });
    return serverDataSegments(endpoint, socket.localPort!) / count;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}
