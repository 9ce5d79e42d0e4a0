"""The h1spec probe application for any WSGI server (PEP 3333; standard library only, Python 3.11).

It answers with a JSON report of the environ it was given and the body it read, following SPEC's probe
contract (conformance/probes/contract.ts). conformance/probes/probe.ts is the same application in
TypeScript: for the same environ and body both must answer byte for byte the same (test/probes.test.ts).
"""

import base64
import json
import re
from http import HTTPStatus

PROBE_CONTRACT = 'h1spec-probe/1'
ACTION_ENVIRON_KEY = 'HTTP_X_PROBE_ACTION'

# Exactly the characters JavaScript's String.prototype.trim removes, so both probes split actions alike
# (str.strip() would also remove \x1c-\x1f and \x85, which trim keeps).
JS_WHITESPACE = (
    '\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a'
    '\u2028\u2029\u202f\u205f\u3000\ufeff'
)
# ASCII digits only: Python's \d and int() also accept other scripts' digits, signs, spaces and underscores.
READ_ACTION = re.compile(r'read:([0-9]+)')
STATUS_ACTION = re.compile(r'status:([0-9]{3})')
DIGITS = re.compile(r'[0-9]+')

# A declared length is read in pieces of this size: a file object's read(n) allocates n bytes up front,
# so one read of a huge Content-Length would fail with MemoryError before the client sent anything.
READ_PIECE = 64 * 1024


class ProbeRaised(RuntimeError):
    """What the `raise` and `raise-after-headers` actions raise."""


class Actions:
    """What X-Probe-Action asked for; the last `read:` and `status:` win."""

    def __init__(self, header_value):
        self.no_length = False
        self.read_limit = None
        self.status_code = None
        self.raise_before_start = False
        self.raise_after_headers = False
        if not isinstance(header_value, str) or not header_value:
            return
        for word in header_value.split(','):
            word = word.strip(JS_WHITESPACE)
            read = READ_ACTION.fullmatch(word)
            status = STATUS_ACTION.fullmatch(word)
            if word == 'no-length':
                self.no_length = True
            elif word == 'raise':
                self.raise_before_start = True
            elif word == 'raise-after-headers':
                self.raise_after_headers = True
            elif read:
                self.read_limit = int(read.group(1))
            elif status:
                self.status_code = int(status.group(1))


def status_line(code):
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = 'Unknown'
    return '%03d %s' % (code, phrase)


def reportable(value):
    """Strings, numbers, booleans and tuples of them go into the report as values; anything else by type name."""
    if isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (tuple, list)):
        return all(reportable(item) for item in value)
    return False


def as_json_value(value):
    if isinstance(value, (tuple, list)):
        return [as_json_value(item) for item in value]
    return value


def read_declared_length(stream, length):
    pieces = []
    remaining = length
    while remaining > 0:
        piece = stream.read(min(remaining, READ_PIECE))
        if not piece:
            break
        pieces.append(piece)
        remaining -= len(piece)
    return b''.join(pieces)


def read_body(environ, read_limit):
    """Never blocks on a server whose wsgi.input is the raw socket: without a usable length, read to the end
    only when the server says the input is terminated."""
    stream = environ['wsgi.input']
    if read_limit is not None:
        return stream.read(read_limit)
    declared = environ.get('CONTENT_LENGTH')
    if isinstance(declared, str) and DIGITS.fullmatch(declared):
        return read_declared_length(stream, int(declared))
    if environ.get('wsgi.input_terminated'):
        return stream.read()
    return b''


def report_body(environ, body):
    values = {}
    objects = {}
    for key, value in environ.items():
        if reportable(value):
            values[key] = as_json_value(value)
        else:
            objects[key] = type(value).__name__
    report = {
        'contract': PROBE_CONTRACT,
        'environ': values,
        'objects': objects,
        'body': {'length': len(body), 'base64': base64.b64encode(body).decode('ascii')},
    }
    return json.dumps(report, sort_keys=True, separators=(',', ':')).encode('ascii')


def halves(body):
    # Split where the environ begins: the first chunk then depends only on the request body, so a cut-short
    # response (raise-after-headers) reads the same under any server, whatever its process environment.
    middle = body.index(b'"environ":')
    return [body[:middle], body[middle:]]


def chunks_then_raise(first_chunk):
    yield first_chunk
    raise ProbeRaised('h1spec probe: raise-after-headers requested')


def chunks(pieces):
    yield from pieces


def application(environ, start_response):
    actions = Actions(environ.get(ACTION_ENVIRON_KEY))
    body = report_body(environ, read_body(environ, actions.read_limit))
    if actions.raise_before_start:
        raise ProbeRaised('h1spec probe: raise requested')
    status = status_line(actions.status_code if actions.status_code is not None else 200)
    headers = [('Content-Type', 'application/json')]
    if actions.raise_after_headers:
        start_response(status, headers)
        return chunks_then_raise(halves(body)[0])
    if actions.no_length:
        start_response(status, headers)
        return chunks(halves(body))
    headers.append(('Content-Length', str(len(body))))
    start_response(status, headers)
    return [body]
