"""Real CPython 3.11 and Django 3.2 as the oracle for the reference server's unit tests (test/reference-*.test.ts).

`python-oracle.py` answers JSON lines on stdin, one JSON line each on stdout: {"op": NAME, "inputs": [...]} ->
{"results": [...]}, one result per input, so a caller can batch. Latin-1 text and raw bytes travel in as base64;
text comes back as JSON strings (every code point is below 256, which JSON's escapes carry exactly).

`python-oracle.py serve [--nothreading] [--host H]` runs Django's own WSGIServer (django.core.servers.basehttp) with
the application catalogue below, prints {"port": N}, then one JSON line per `django.server` log record. The
catalogue mirrors test/support/wsgi-catalogue.ts: same paths, same behaviour, so a test can send the same bytes to
both servers and compare what comes back.

Either mode ends when its stdin closes, so a test runner that dies leaves no process behind.
"""

import base64
import email.utils
import html
import http.client
import io
import json
import logging
import os
import socket
import sys
import threading
import time
from email.parser import Parser
from http.server import BaseHTTPRequestHandler

import django
from django.conf import settings
from django.core.handlers.wsgi import LimitedStream, WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler, WSGIServer
from django.http import Http404, HttpResponse, parse_cookie as django_parse_cookie
from django.urls import path


def latin1(b64):
    return base64.b64decode(b64).decode('latin-1')


def python_int(text):
    try:
        return str(int(text))
    except ValueError:
        return None


def pyfmt(b64):
    text = latin1(b64)
    return {
        'split': text.split(),
        'strip': text.strip(),
        'repr': repr(text),
        'int': python_int(text),
        'escape': html.escape(text, quote=False),
        'rstrip_crlf': text.rstrip('\r\n'),
        'lstrip_slash': text.lstrip('/'),
    }


def parsestr(b64):
    """What http.client.parse_headers does with the head once it has read it."""
    message = Parser(_class=http.client.HTTPMessage).parsestr(latin1(b64))
    return message.items()


def parse_headers(b64):
    """http.client.parse_headers over the raw bytes: where the head ends, its limits, and what is left unread."""
    stream = io.BytesIO(base64.b64decode(b64))
    try:
        message = http.client.parse_headers(stream)
    except http.client.LineTooLong as err:
        return {'error': 'LineTooLong', 'message': str(err)}
    except http.client.HTTPException as err:
        return {'error': 'HTTPException', 'message': str(err)}
    return {'items': message.items(), 'rest': base64.b64encode(stream.read()).decode('ascii')}


def set_cookie(options):
    """The Set-Cookie value Django 3.2's WSGIHandler sends for HttpResponse.set_cookie(**options)."""
    response = HttpResponse()
    response.set_cookie(**options)
    return [morsel.output(header='') for morsel in response.cookies.values()]


def parse_cookie(b64):
    return sorted(django_parse_cookie(latin1(b64)).items())


def limited_stream(case):
    """Django's LimitedStream over a buffered binary stream (what a socket's makefile('rb') is), one call after another."""
    stream = LimitedStream(io.BufferedReader(io.BytesIO(base64.b64decode(case['data']))), case['limit'])
    results = []
    for method, size in case['calls']:
        call = getattr(stream, method)
        try:
            data = call() if size is None else call(size)
        except ValueError as err:
            results.append({'error': str(err)})
            break
        results.append(base64.b64encode(data).decode('ascii'))
    return results


# Views for `django_wsgi`: this module is the ROOT_URLCONF of the settings answer_forever configures.
def view_hello(request):
    return HttpResponse('hello')


def view_missing(request):
    raise Http404('gone')


def view_boom(request):
    raise ValueError('boom')


def view_cookies(request):
    response = HttpResponse('cookies')
    response.set_cookie('plain', 'v')
    response.set_cookie('flags', 'v', httponly=True, samesite='Lax')
    return response


urlpatterns = [path('hello', view_hello), path('missing', view_missing), path('boom', view_boom), path('cookies', view_cookies)]


def django_wsgi(request):
    """Django's WSGIHandler (DEBUG=False, no middleware, no templates) answering one request: status, headers, body."""
    environ = {
        'REQUEST_METHOD': request['method'], 'PATH_INFO': request['path'], 'SCRIPT_NAME': '', 'QUERY_STRING': '',
        'SERVER_NAME': 'localhost', 'SERVER_PORT': '80', 'SERVER_PROTOCOL': 'HTTP/1.1', 'HTTP_HOST': 'localhost',
        'wsgi.input': io.BytesIO(b''), 'wsgi.errors': io.StringIO(), 'wsgi.url_scheme': 'http',
    }
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer['status'] = status
        answer['headers'] = headers

    body = b''.join(WSGIHandler()(environ, start_response))
    answer['body'] = body.decode('latin-1')
    return answer


OPERATIONS = {
    'pyfmt': pyfmt,
    'parsestr': parsestr,
    'parse_headers': parse_headers,
    'getfqdn': socket.getfqdn,
    'formatdate': lambda timestamp: email.utils.formatdate(timestamp, usegmt=True),
    'log_date_time': lambda timestamp: '%02d/%3s/%04d %02d:%02d:%02d' % log_date_time_fields(timestamp),
    'set_cookie': set_cookie,
    'parse_cookie': parse_cookie,
    'limited_stream': limited_stream,
    'django_wsgi': django_wsgi,
}


def log_date_time_fields(timestamp):
    """BaseHTTPRequestHandler.log_date_time_string for a given time instead of now."""
    year, month, day, hh, mm, ss = time.localtime(timestamp)[:6]
    return day, BaseHTTPRequestHandler.monthname[month], year, hh, mm, ss


def answer_forever():
    # What a bare project serves with: no debug pages, no middleware, no templates, this module's URLs.
    settings.configure(DEBUG=False, ALLOWED_HOSTS=['*'], MIDDLEWARE=[], ROOT_URLCONF='__main__', LOGGING_CONFIG=None)
    django.setup(set_prefix=False)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            operation = OPERATIONS[request['op']]
            reply = {'results': [operation(item) for item in request['inputs']]}
        except Exception as err:  # the caller's mistake, reported to it rather than killing the oracle
            reply = {'error': '%s: %s' % (type(err).__name__, err)}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


# ---- the application catalogue (keep in step with test/support/wsgi-catalogue.ts) ----

TEXT = [('Content-Type', 'text/plain')]


def percent_escape(text):
    """Printable ASCII as is, every other latin-1 byte (and %) as %XX: exact, and readable in a diff."""
    return ''.join(c if 0x21 <= ord(c) <= 0x7e and c != '%' else '%%%02X' % ord(c) for c in text)


def environ_lines(environ):
    lines = []
    for key in sorted(environ):
        value = environ[key]
        if key.startswith('wsgi.'):
            if isinstance(value, bool):
                rendered = 'true' if value else 'false'
            elif key == 'wsgi.version':
                rendered = '%d.%d' % value
            elif isinstance(value, str):
                rendered = value
            else:
                rendered = 'present'
        elif isinstance(value, str) and os.environ.get(key) != value:
            rendered = percent_escape(value)
        else:
            continue
        lines.append('%s: %s\n' % (key, rendered))
    return ''.join(lines).encode('latin-1')


def app_hello(environ, start_response):
    start_response('200 OK', TEXT[:])
    return [b'hello']


def app_status(environ, start_response):
    code = int(environ['QUERY_STRING'])
    start_response('%d %s' % (code, http.HTTPStatus(code).phrase), TEXT[:])
    return [b'status']


def app_bad_status(status):
    def app(environ, start_response):
        start_response(status, TEXT[:])
        return [b'unreachable']
    return app


def app_header_nonstring(environ, start_response):
    start_response('200 OK', [('X-Count', 5)])
    return [b'unreachable']


def app_hop(environ, start_response):
    start_response('200 OK', [(environ['QUERY_STRING'], 'x')])
    return [b'unreachable']


def app_headers_twice(environ, start_response):
    start_response('200 OK', TEXT[:])
    start_response('201 Created', TEXT[:])
    return [b'unreachable']


def app_exc_info_early(environ, start_response):
    start_response('200 OK', TEXT[:])
    try:
        raise ValueError('before any byte was sent')
    except ValueError:
        start_response('503 Service Unavailable', TEXT[:], sys.exc_info())
    return [b'recovered']


def app_exc_info_late(environ, start_response):
    start_response('200 OK', TEXT[:])

    def body():
        yield b'first'
        try:
            raise ValueError('after the headers were sent')
        except ValueError:
            start_response('500 Internal Server Error', TEXT[:], sys.exc_info())
        yield b'never'
    return body()


def app_chunks(environ, start_response):
    start_response('200 OK', TEXT[:])
    return [b'a', b'b', b'c']


def app_generator(environ, start_response):
    start_response('200 OK', TEXT[:])
    return (chunk for chunk in [b'gen'])


def app_empty(environ, start_response):
    start_response('200 OK', TEXT[:])
    return []


def app_empty_chunk(environ, start_response):
    start_response('200 OK', TEXT[:])
    return [b'']


def app_preset_length(environ, start_response):
    start_response('200 OK', TEXT + [('Content-Length', '10')])
    return []


def app_own_date_server(environ, start_response):
    start_response('200 OK', TEXT + [('Date', 'Thu, 01 Jan 1970 00:00:00 GMT'), ('Server', 'mine')])
    return [b'own']


def app_read(environ, start_response):
    stream = environ['wsgi.input']
    argument = environ['QUERY_STRING']
    data = stream.read() if argument == 'all' else stream.read(int(argument))
    start_response('200 OK', TEXT[:])
    return [data]


def app_readlines(environ, start_response):
    stream = environ['wsgi.input']
    lines = [stream.readline(), stream.readline(-1), stream.readline()]
    start_response('200 OK', TEXT[:])
    return [b'|'.join(lines)]


def app_write_callable(environ, start_response):
    write = start_response('200 OK', TEXT[:])
    write(b'legacy ')
    return [b'tail']


def app_raise(environ, start_response):
    raise ValueError('before start_response')


def app_raise_in_iter(environ, start_response):
    start_response('200 OK', TEXT[:])

    def body():
        raise ValueError('before the first chunk')
        yield b'never'
    return body()


def app_nonbytes(environ, start_response):
    start_response('200 OK', TEXT[:])
    return ['text']


def app_latin1_header(environ, start_response):
    start_response('200 OK', TEXT + [('X-Euro', '\u20ac')])
    return [b'x']


def app_environ(environ, start_response):
    start_response('200 OK', TEXT[:])
    return [environ_lines(environ)]


BIG_CHUNK = b'x' * 65536
BIG_CHUNKS = 2048


def app_big(environ, start_response):
    """128 MiB with a Content-Length, far more than the socket buffers hold, in blocks: a client can hang up while the server is still writing."""
    start_response('200 OK', TEXT + [('Content-Length', str(len(BIG_CHUNK) * BIG_CHUNKS))])
    return (BIG_CHUNK for _ in range(BIG_CHUNKS))


CATALOGUE = {
    'hello': app_hello,
    'status': app_status,
    'status-short': app_bad_status('200'),
    'status-nondigit': app_bad_status('2x0 OK'),
    'status-nospace': app_bad_status('200-OK'),
    'header-nonstring': app_header_nonstring,
    'hop': app_hop,
    'headers-twice': app_headers_twice,
    'exc-info-early': app_exc_info_early,
    'exc-info-late': app_exc_info_late,
    'chunks': app_chunks,
    'generator': app_generator,
    'empty': app_empty,
    'empty-chunk': app_empty_chunk,
    'preset-length': app_preset_length,
    'own-date-server': app_own_date_server,
    'read': app_read,
    'readlines': app_readlines,
    'write-callable': app_write_callable,
    'raise': app_raise,
    'raise-in-iter': app_raise_in_iter,
    'nonbytes': app_nonbytes,
    'latin1-header': app_latin1_header,
    'environ': app_environ,
    'big': app_big,
}


def catalogue_application(environ, start_response):
    name = environ['PATH_INFO'].split('/')[1]
    return CATALOGUE.get(name, app_hello)(environ, start_response)


class JsonLines(logging.Handler):
    def emit(self, record):
        sys.stdout.write(json.dumps({'level': record.levelname, 'message': record.getMessage()}) + '\n')
        sys.stdout.flush()


def serve(argv):
    threaded = '--nothreading' not in argv
    host = argv[argv.index('--host') + 1] if '--host' in argv else '127.0.0.1'
    logger = logging.getLogger('django.server')
    logger.setLevel(logging.INFO)
    logger.addHandler(JsonLines())
    logger.propagate = False
    server_class = ThreadedWSGIServer if threaded else WSGIServer
    server = server_class((host, 0), WSGIRequestHandler, ipv6=':' in host)
    server.set_app(catalogue_application)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write(json.dumps({'port': server.server_address[1]}) + '\n')
    sys.stdout.flush()
    sys.stdin.read()


if __name__ == '__main__':
    if sys.argv[1:2] == ['serve']:
        serve(sys.argv[2:])
    else:
        answer_forever()
