import type { Server } from 'node:net';

/** Binds loopback on the port given as the first argument (0 by default) and tells the parent which port it got. */
export function announceListening(server: Server): void {
  server.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), backlog: 511 }, () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
    process.stdout.write(`listening ${address.port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
