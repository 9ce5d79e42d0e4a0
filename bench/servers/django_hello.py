"""Django's runserver serving a five-byte hello WSGI application, for the throughput comparison.

Both the settings module and the application: `DJANGO_SETTINGS_MODULE=django_hello python3 -m django runserver
127.0.0.1:PORT --noreload` with this folder on PYTHONPATH. No apps, no middleware, as django_probe_settings.py.
"""

SECRET_KEY = 'h1spec-bench-not-secret'
DEBUG = False
ALLOWED_HOSTS = ['*']
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
TIME_ZONE = 'UTC'
WSGI_APPLICATION = 'django_hello.application'

HELLO = b'hello'


def application(environ, start_response):
    # No Content-Length, as the reference's hello application: wsgiref adds it for a one-element body.
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [HELLO]
