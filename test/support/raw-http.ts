import net from 'node:net';
import type { Endpoint } from '../../conformance/wire/types.ts';

export interface RawResponse {
  statusLine: string;
  headers: string[];
  body: Buffer;
}

/** Sends `request` as is and reads until the server closes (bounded by `timeoutMs`); the request should say `Connection: close`. */
export function exchange(endpoint: Endpoint, request: string, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(Buffer.from(request, 'latin1')));
    socket.on('data', (data) => received.push(data));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(received);
      const headEnd = all.indexOf('\r\n\r\n');
      if (headEnd === -1) return reject(new Error(`no response head in ${JSON.stringify(all.toString('latin1'))}`));
      const [statusLine = '', ...headers] = all.subarray(0, headEnd).toString('latin1').split('\r\n');
      resolve({ statusLine, headers, body: all.subarray(headEnd + 4) });
    });
  });
}

/** A GET that asks the server to close after answering, so the whole response is what arrives before the close. */
export function get(endpoint: Endpoint, target: string, host = 'example.test'): Promise<RawResponse> {
  return exchange(endpoint, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
}
