"""Fixtures of the Django tests: a database per test (tests/conftest.py starts PostgreSQL).

Under ``CI=true`` a missing PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from swarmkit.django import cron
from tests.django.servers import PostgresServer


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
