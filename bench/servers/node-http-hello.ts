/**
 * The yardstick the reference is held to: Node's own HTTP server answering the same five bytes the reference's hello
 * application does. Prints `listening PORT` once bound; `node --import tsx node-http-hello.ts [PORT]`.
 */
import http from 'node:http';
import { announceListening } from './announce.ts';

const HELLO = Buffer.from('hello');

const server = http.createServer((_request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': HELLO.length });
  response.end(HELLO);
});
announceListening(server);
