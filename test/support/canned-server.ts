import net from 'node:net';

/**
 * A tiny HTTP/1.1 server for harness tests: answers every request head with the same canned response and closes.
 * `kill` makes it vanish mid-test (connections dropped, further connects refused).
 */
export class CannedServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(response: Buffer) {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let head = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        head = Buffer.concat([head, chunk]);
        if (head.includes('\r\n\r\n')) socket.end(response);
      });
    });
  }

  /** Serves `status` with `body` and any extra header lines (each without its CRLF). */
  static async start(options: { status?: number; body?: string | Buffer; headers?: string[] } = {}): Promise<CannedServer> {
    const body = Buffer.from(options.body ?? 'hello');
    const head = [`HTTP/1.1 ${options.status ?? 200} Canned`, ...(options.headers ?? []), `Content-Length: ${body.length}`, 'Connection: close'];
    const canned = new CannedServer(Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body]));
    await new Promise<void>((resolve) => canned.server.listen(0, '127.0.0.1', resolve));
    return canned;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async kill(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
