"""A stand-in target for test/spawn.test.ts: `listen.py PORT [--lines N]` listens on 127.0.0.1:PORT for at most
60 s and closes each connection it accepts; with --lines, each connection first makes it write N numbered lines
to stdout and then `done N` to stderr."""

import argparse
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument('port', type=int)
parser.add_argument('--lines', type=int, default=0)
args = parser.parse_args()

listener = socket.create_server(('127.0.0.1', args.port))
listener.settimeout(1)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        connection, _ = listener.accept()
    except socket.timeout:
        continue
    connection.close()
    if args.lines:
        sys.stdout.write(''.join('line %d\n' % i for i in range(args.lines)))
        sys.stdout.flush()
        # A moment apart (well within the log's quiet period), so stdout is read before stderr.
        time.sleep(0.02)
        print('done %d' % args.lines, file=sys.stderr, flush=True)
