"""Calls wsgi_probe.application the way a WSGI server would, for the parity test (test/probes.test.ts).

Reads JSON lines on stdin, each {"environ": {...}, "body": base64}; JSON lists become tuples (wsgi.version).
Writes one JSON line per case: {"status", "headers", "chunks" (base64 each), "raised", "reads"}. `status` stays
null when the application raised before start_response; `reads` lists the size of each wsgi.input.read call.
"""

import base64
import io
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'conformance', 'probes'))

from wsgi_probe import application  # noqa: E402


class LimitedStream:
    """Django's runserver input in miniature: reads stop at the end of the body. Records each read's size."""

    def __init__(self, data):
        self.stream = io.BytesIO(data)
        self.remaining = len(data)
        self.reads = []

    def read(self, size=None):
        self.reads.append(size)
        if size is None or size > self.remaining:
            size = self.remaining
        result = self.stream.read(size)
        self.remaining -= len(result)
        return result

    def readline(self, size=None):
        line = self.stream.readline(self.remaining if size is None else min(size, self.remaining))
        self.remaining -= len(line)
        return line


class ErrorStream:
    def write(self, text):
        sys.stderr.write(text)

    def flush(self):
        sys.stderr.flush()


def tuples(value):
    if isinstance(value, list):
        return tuple(tuples(item) for item in value)
    return value


def run(case):
    environ = {key: tuples(value) for key, value in case['environ'].items()}
    stream = LimitedStream(base64.b64decode(case['body']))
    environ['wsgi.input'] = stream
    environ['wsgi.errors'] = ErrorStream()
    outcome = {'status': None, 'headers': None, 'chunks': [], 'raised': False, 'reads': stream.reads}

    def start_response(status, headers, exc_info=None):
        outcome['status'] = status
        outcome['headers'] = [list(header) for header in headers]

    try:
        result = application(environ, start_response)
        try:
            for chunk in result:
                outcome['chunks'].append(base64.b64encode(chunk).decode('ascii'))
        finally:
            if hasattr(result, 'close'):
                result.close()
    except Exception:
        outcome['raised'] = True
    return outcome


for line in sys.stdin.buffer:
    if line.strip():
        print(json.dumps(run(json.loads(line.decode('utf-8')))), flush=True)
