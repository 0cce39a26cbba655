"""Settings of the test project: production security on, values from secrets.

The gunicorn-based tests pass ``DATABASE_URI`` (a private PostgreSQL) and
``SWARMKIT_STATE_DIR`` in the environment; in-process tests use SQLite.
"""

from __future__ import annotations

import os
from pathlib import Path

from swarmkit.django import database_url, secret

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = secret("secret_key", default="test-only-" + "x" * 50)
DEBUG = secret("debug", default=False, cast=bool)
ALLOWED_HOSTS = ["app.example.com"]

DATABASES = {
    "default": secret("database_uri", default="sqlite:///:memory:", cast=database_url),
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "swarmkit.django",
    "tests.django.project.jobs",
]
for extra in filter(None, os.environ.get("TEST_EXTRA_APPS", "").split(",")):
    INSTALLED_APPS.append(extra)

MIDDLEWARE = [
    "swarmkit.django.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.django.project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# What `manage.py check --deploy` asks of production; the probes and the cron
# endpoint must work with all of it on.
SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

SWARMKIT_STATE_DIR = os.environ.get("SWARMKIT_STATE_DIR") or None
SWARMKIT_HEALTH_TTL = float(os.environ.get("SWARMKIT_HEALTH_TTL", "2"))
SWARMKIT_CRON_API_KEY = secret("cron_api_key", default="test-cron-key-" + "k" * 32)
SWARMKIT_CRON_URL = os.environ.get("SWARMKIT_CRON_URL")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TEST_LOG_LEVEL", "WARNING")},
}
