"""Fixtures of the Django tests: a private PostgreSQL per session, a database per test.

Under ``CI=true`` a missing PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from swarmkit.django import cron
from tests.django.servers import PostgresServer, postgres_bindir


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = postgres_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_database(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database named after the test; returns its URL."""
    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:50]
    return postgres.create_database(name)


@pytest.fixture
def registry() -> Iterator[None]:
    """Cron jobs registered by a test disappear after it (the test project's stay)."""
    with cron._lock:
        saved, duplicates = dict(cron._registry), list(cron._duplicates)
    yield
    with cron._lock:
        cron._registry.clear()
        cron._registry.update(saved)
        cron._duplicates[:] = duplicates
