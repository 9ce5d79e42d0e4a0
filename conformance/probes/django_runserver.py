"""Runs Django's development server on the probe: `django_runserver.py PORT [--nothreading] [--ipv6]`.

Equivalent to `django-admin runserver 127.0.0.1:PORT --noreload` (or `[::1]:PORT`) with the settings of
django_probe_settings.py; the autoreloader stays off so the PID the harness holds is the server itself.
"""

import argparse
import os
import sys

PROBES_DIR = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('port', type=int)
    parser.add_argument('--nothreading', action='store_true', help='serve one connection at a time')
    parser.add_argument('--ipv6', action='store_true', help='listen on [::1] instead of 127.0.0.1')
    args = parser.parse_args()

    sys.path.insert(0, PROBES_DIR)
    os.environ['DJANGO_SETTINGS_MODULE'] = 'django_probe_settings'
    from django.core.management import execute_from_command_line

    address = '[::1]' if args.ipv6 else '127.0.0.1'
    argv = ['django-admin', 'runserver', '%s:%d' % (address, args.port), '--noreload']
    if args.nothreading:
        argv.append('--nothreading')
    execute_from_command_line(argv)


if __name__ == '__main__':
    main()
