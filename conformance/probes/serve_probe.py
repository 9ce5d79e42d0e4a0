"""Serves wsgi_probe.application with a WSGI server that has no command line of its own:
`serve_probe.py {wsgiref|werkzeug} PORT` listens on 127.0.0.1:PORT until it is stopped."""

import argparse

from wsgi_probe import application

HOST = '127.0.0.1'


def serve_wsgiref(port):
    from wsgiref.simple_server import make_server
    make_server(HOST, port, application).serve_forever()


def serve_werkzeug(port):
    from werkzeug.serving import run_simple
    run_simple(HOST, port, application, threaded=True)


SERVERS = {'wsgiref': serve_wsgiref, 'werkzeug': serve_werkzeug}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('server', choices=sorted(SERVERS))
    parser.add_argument('port', type=int)
    args = parser.parse_args()
    SERVERS[args.server](args.port)


if __name__ == '__main__':
    main()
