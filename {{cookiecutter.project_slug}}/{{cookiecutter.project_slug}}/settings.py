"""Settings of {{ cookiecutter.project_name }}: the one settings module, for every environment.

12-factor: plain configuration comes from environment variables, anything
secret from Docker secrets through swarmkit's ``secret()``, which tries, in
order, the file named by ``$<NAME>_FILE``, the file ``/run/secrets/<name>``
(or ``$SWARMKIT_SECRETS_DIR/<name>``), then the variable ``$<NAME>`` (see
swarmkit's docs/django.md). The defaults are production's: a missing secret
stops start-up with a message naming it, and ``manage.py check --deploy``
is clean. Local development relaxes them with ``DJANGO_DEBUG=true``
(docker-compose.yml sets it).

Environment variables read here:

  DJANGO_DEBUG            "true" only locally (default false)
  DJANGO_ALLOWED_HOSTS    comma-separated host names (default {{ cookiecutter.domain_name }})
  DJANGO_CSRF_TRUSTED_ORIGINS  more origins for the CSRF check, comma-separated, e.g.
                          a review app's https://<host>:<port> (its URL has a port)
  DJANGO_LOG_LEVEL        root log level (default INFO)
  DJANGO_LOG_FORMAT       "json" (default) or "text"
  DJANGO_ADMINS           comma-separated addresses that get error mails
  DJANGO_STATIC_ROOT      where collectstatic writes (default <project>/staticfiles)
  DJANGO_MEDIA_ROOT       where uploads go (default <project>/media)
  DJANGO_CONN_MAX_AGE     seconds a database connection is kept (default 60)
  DJANGO_BUILD            "1" only for collectstatic in the Dockerfile (build mode, below)
  APP_VERSION             the release (commit SHA), set in the image (default "dev")
  EMAIL_HOST EMAIL_PORT EMAIL_HOST_USER EMAIL_USE_TLS DEFAULT_FROM_EMAIL SERVER_EMAIL
  DJANGO_EMAIL_BACKEND    another e-mail backend (default SMTP; the console when DEBUG)
{%- if cookiecutter.use_redis == 'y' %}
  REDIS_URL               the cache (default redis://redis:6379/0)
{%- endif %}
{%- if cookiecutter.use_cron == 'y' %}
  SWARMKIT_CRON_URL       where the scheduler POSTs (default http://app:8000/api/cron/)
{%- endif %}

Secrets: secret_key and database_uri (required),{% if cookiecutter.use_cron == 'y' %} cron_api_key (required),{% endif %}
secret_key_fallbacks and email_host_password (optional). Outside the stack and
compose (``manage.py check --deploy`` in a virtualenv, say) give the required
ones as SECRET_KEY, DATABASE_URI{% if cookiecutter.use_cron == 'y' %} and CRON_API_KEY{% endif %}: docs/development.md shows the command.
"""

import os
import secrets
from pathlib import Path

import django
from swarmkit.django import database_url, secret

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def key_list(value):
    """Keys separated by commas or white space (one per line in a secret file)."""
    return value.replace(",", " ").split()


# Build mode: ONLY for `collectstatic` while `docker build` runs, where no
# secret exists (docker/production/Dockerfile sets DJANGO_BUILD=1 on that one
# RUN line; it is never set at run time). The settings then load without any
# secret, with a throw-away key, no database and no allowed host, so the
# process can collect static files and cannot serve anything.
BUILD = env_bool("DJANGO_BUILD")

DEBUG = env_bool("DJANGO_DEBUG") and not BUILD

APP_VERSION = env("APP_VERSION", "dev")

if BUILD:
    SECRET_KEY = secrets.token_urlsafe(50)
    SECRET_KEY_FALLBACKS = []
    DATABASES = {}
    ALLOWED_HOSTS = []
else:
    SECRET_KEY = secret("secret_key")
    # Old keys stay valid for sessions and signed data while a new key rolls
    # out (rotation: see the README).
    SECRET_KEY_FALLBACKS = secret("secret_key_fallbacks", default=[], cast=key_list)
    # postgresql://<user>:<password>@db:5432/<name>?connect_timeout=2 (query
    # parameters become OPTIONS).
    DATABASES = {"default": secret("database_uri", cast=database_url)}
    DATABASES["default"]["CONN_MAX_AGE"] = int(env("DJANGO_CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if "postgresql" in DATABASES["default"]["ENGINE"]:
        # A database host that is gone must fail a probe in seconds, not hang it:
        # a new connection within connect_timeout; a kept one (CONN_MAX_AGE) to a
        # host that died without closing it (power, network) within
        # tcp_user_timeout (ms of unacknowledged data), where TCP alone would
        # block the worker for minutes and starve the alive probe with it.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", 2)
        options.setdefault("tcp_user_timeout", 5000)
        options.setdefault("keepalives", 1)
        options.setdefault("keepalives_idle", 30)
    ALLOWED_HOSTS = env_list(
        "DJANGO_ALLOWED_HOSTS",
        "localhost,127.0.0.1,[::1]" if DEBUG else "{{ cookiecutter.domain_name }}",
    )

# The site is served over HTTPS only: the proxy terminates TLS and says so in
# X-Forwarded-Proto. Origins for the CSRF check follow the allowed hosts
# (".example.com" allows every subdomain).
CSRF_TRUSTED_ORIGINS = [
    f"https://*{host}" if host.startswith(".") else f"https://{host}"
    for host in ALLOWED_HOSTS
    if host != "*"
] + env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "swarmkit.django",
    "{{ cookiecutter.project_slug }}",  # its management commands: migrate_locked
    "visits",
]

MIDDLEWARE = [
    # First: answers the probes (and hands cron calls to their view) before
    # host validation and the SSL redirect, which would refuse them.
    "swarmkit.django.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "{{ cookiecutter.project_slug }}.urls"
WSGI_APPLICATION = "{{ cookiecutter.project_slug }}.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security: production's values unless DJANGO_DEBUG is on (local only).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG

# Static files: collected into the image at build time and served by the app
# through WhiteNoise (hashed names, compressed, cached forever), so no volume
# is shared between services or nodes.
STATIC_URL = "static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))

# Uploaded files. The stack runs the app with a read-only root filesystem on
# several nodes, so a local directory is not enough there: use S3-compatible
# storage (django-storages; set STORAGES["default"] to its backend) for
# several nodes, or mount a named volume at DJANGO_MEDIA_ROOT and pin the app
# to one node. The example app stores no files.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media")))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

{% if cookiecutter.use_redis == 'y' -%}
# Django's own Redis backend; short timeouts so a Redis outage fails a probe
# in seconds instead of hanging requests.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("REDIS_URL", "redis://redis:6379/0"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    },
}
{%- else -%}
# One cache per process (the template's use_redis option shares one in Redis).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
{%- endif %}

# E-mail: the SMTP server from the environment, its password from a secret.
smtp_backend = "django.core.mail.backends.smtp.EmailBackend"
email_backend = env(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else smtp_backend,
)
smtp = {
    "host": env("EMAIL_HOST", "localhost"),
    "port": int(env("EMAIL_PORT", "25")),
    "username": env("EMAIL_HOST_USER"),
    "password": secret("email_host_password", default=""),
    "use_tls": env_bool("EMAIL_USE_TLS"),
    "timeout": 10,
}
if django.VERSION >= (6, 1):
    # Django 6.1 configures e-mail with MAILERS (the EMAIL_* settings are deprecated).
    MAILERS = {
        "default": {
            "BACKEND": email_backend,
            "OPTIONS": smtp if email_backend == smtp_backend else {},
        },
        # Error mails (AdminEmailHandler): with MAILERS, Django 6.1 no longer sends
        # them fail_silently, so an unreachable mail server would turn every logged
        # error (a 500, a DisallowedHost) into a dropped connection.
        "admins": {
            "BACKEND": email_backend,
            "OPTIONS": {**smtp, "fail_silently": True} if email_backend == smtp_backend else {},
        },
    }
else:
    EMAIL_BACKEND = email_backend
    EMAIL_HOST = smtp["host"]
    EMAIL_PORT = smtp["port"]
    EMAIL_HOST_USER = smtp["username"]
    EMAIL_HOST_PASSWORD = smtp["password"]
    EMAIL_USE_TLS = smtp["use_tls"]
    EMAIL_TIMEOUT = smtp["timeout"]
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "{{ cookiecutter.author_email }}")
SERVER_EMAIL = env("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# Who gets a mail for every unhandled error (500) when DEBUG is off.
ADMINS = env_list("DJANGO_ADMINS", "{{ cookiecutter.author_email }}")
if django.VERSION < (6, 0):
    # Django 6 takes plain addresses; 5.2 wants (name, address) pairs.
    ADMINS = [("", address) for address in ADMINS]

# Logging: one JSON object per line on stdout, where Docker collects it.
LOG_LEVEL = env("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "json": {"()": "{{ cookiecutter.project_slug }}.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "text" if env("DJANGO_LOG_FORMAT", "json") == "text" else "json",
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
            **({"using": "admins"} if django.VERSION >= (6, 1) else {}),
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout", "mail_admins"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}

# swarmkit: the probes keep their "has been ready" marker in <tmp>/swarmkit
# (a tmpfs in the stack).
{%- if cookiecutter.use_cron == 'y' %}
# The cron endpoints' bearer key, shared by the app and the scheduler service.
SWARMKIT_CRON_API_KEY = "" if BUILD else secret("cron_api_key")
# The previous key during a rotation (deploy/stack.cron-key-fallbacks.yml):
# the app accepts it too, the scheduler sends it first.
SWARMKIT_CRON_API_KEY_FALLBACKS = (
    [] if BUILD else secret("cron_api_key_fallbacks", default=[], cast=key_list)
)
# Read only by the scheduler service (manage.py cron_scheduler).
SWARMKIT_CRON_URL = env("SWARMKIT_CRON_URL", "http://app:8000/api/cron/")
{%- endif %}
