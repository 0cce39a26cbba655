"""The test set-up: PostgreSQL from DATABASE_URI, as in production.

The tests need a PostgreSQL server in DATABASE_URI (the user must be allowed
to create databases; pytest-django creates ``test_<name>``). The development
container has it set (``docker compose run --rm app pytest``: the compose db
publishes no port, so the container is the way to it); elsewhere point it at
a server you reach, e.g. ``postgresql://USER:PASSWORD@localhost:5432/postgres``.
Without it the run stops at once with that message: SQLite is never used
silently in its place. The settings' other secrets get test-only values here unless the
environment already has them.
"""

import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings as django_settings

PROJECT = Path(__file__).resolve().parent.parent
SETTINGS = "{{ cookiecutter.project_slug }}.settings"
# Variables of the settings that the subprocess tests set themselves.
SETTINGS_ENV = (
    "SECRET_KEY",
    "DATABASE_URI",
    "CRON_API_KEY",
    "SECRET_KEY_FALLBACKS",
    "EMAIL_HOST_PASSWORD",
    "DJANGO_DEBUG",
    "DJANGO_BUILD",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_STATIC_ROOT",
)


def database_uri():
    return os.environ.get("DATABASE_URI", "")


def pytest_configure(config):
    uri = database_uri()
    if not uri:
        raise pytest.UsageError(
            "DATABASE_URI is not set: the tests run against PostgreSQL, as production does. "
            "Run them in the development container, which has the compose database: "
            "docker compose run --rm app pytest; or set DATABASE_URI to a PostgreSQL server "
            "you reach whose user may create databases, e.g. "
            "DATABASE_URI=postgresql://USER:PASSWORD@localhost:5432/postgres make test "
            "(see docs/development.md)"
        )
    if urlsplit(uri).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise pytest.UsageError(
            f"DATABASE_URI must be a postgresql:// URL, not {urlsplit(uri).scheme}://"
        )
    os.environ.setdefault("SECRET_KEY", "test-only-" + secrets.token_urlsafe(50))
    os.environ.setdefault("CRON_API_KEY", "test-only-" + secrets.token_hex(32))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    # Load the settings now, so that a broken one stops the run with its message.
    django_settings.DATABASES  # noqa: B018


@pytest.fixture(autouse=True)
def _per_test_state(settings, tmp_path):
    # A fresh "has been ready" marker directory for the probes in every test.
    settings.SWARMKIT_STATE_DIR = str(tmp_path / "swarmkit")
    # Static files as before collectstatic: no manifest, an empty STATIC_ROOT.
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STATIC_ROOT.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    if "RedisCache" in settings.CACHES["default"]["BACKEND"] and "REDIS_URL" not in os.environ:
        # No Redis given (REDIS_URL): the tests use a per-process cache instead.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def secrets_dir(tmp_path):
    """A directory like /run/secrets with production-like secrets."""
    directory = tmp_path / "secrets"
    directory.mkdir()
    (directory / "secret_key").write_text(secrets.token_urlsafe(50) + "\n")
    (directory / "database_uri").write_text(database_uri() + "\n")
    (directory / "cron_api_key").write_text(secrets.token_hex(32) + "\n")
    return directory


@pytest.fixture
def project_env(tmp_path):
    """Build the environment of a project process: none of the settings' secrets
    or variables unless given, and an empty secrets directory by default."""
    empty = tmp_path / "no-secrets"
    empty.mkdir()

    def make(**values):
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in SETTINGS_ENV and not key.endswith("_FILE")
        }
        env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        env["SWARMKIT_SECRETS_DIR"] = str(empty)
        env["PYTHONPATH"] = str(PROJECT)
        env.update({key: str(value) for key, value in values.items()})
        return env

    return make


@pytest.fixture
def manage():
    """Run ``manage.py <args>`` in a new process; returns the CompletedProcess."""

    def run(*args, env, timeout=120):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture
def fresh_database():
    """An empty PostgreSQL database on DATABASE_URI's server: its URI; dropped afterwards."""
    name = f"{{ cookiecutter.project_slug }}_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(database_uri())
    with psycopg.connect(database_uri(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(database_uri(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
