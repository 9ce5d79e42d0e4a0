"""Minimal Django settings under which `runserver` serves the raw probe (wsgi_probe.application) through
Django's own server stack: no apps, no database, no middleware, since the probe is not a Django view."""

SECRET_KEY = 'h1spec-probe-not-secret'
DEBUG = False
ALLOWED_HOSTS = ['*']
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
# As in a `startproject` project; Django exports it as TZ, which dates its log lines.
TIME_ZONE = 'UTC'
WSGI_APPLICATION = 'wsgi_probe.application'
