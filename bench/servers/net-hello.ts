/**
 * The upper bound of this machine: a `net` server that answers one canned response per request without parsing
 * (it counts the blank lines that end request heads), and closes when the request asked it to.
 */
import net from 'node:net';
import { announceListening } from './announce.ts';

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Enough of a head to spot `Connection: close` in it; a real parser would read the field properly. */
const CLOSE_TOKEN = Buffer.from('onnection: close', 'latin1');

const server = net.createServer({ noDelay: true }, (socket) => {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let start = 0;
    for (let end = pending.indexOf(HEAD_END, start); end >= 0; end = pending.indexOf(HEAD_END, start)) {
      const closing = pending.subarray(start, end).includes(CLOSE_TOKEN);
      start = end + HEAD_END.length;
      if (closing) {
        socket.end(RESPONSE);
        return;
      }
      socket.write(RESPONSE);
    }
    pending = pending.subarray(start);
  });
  socket.on('error', () => {});
});
announceListening(server);
