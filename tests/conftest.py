"""Test-wide settings and fixtures.

Hypothesis runs a fixed set of examples under CI=true; ``HYPOTHESIS_PROFILE=explore``
runs many more random examples, to hunt for differences from the docker CLI
before a release. One private PostgreSQL serves the whole session (the Django
and the template suites); under ``CI=true`` a missing PostgreSQL is a
failure, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.django.servers import PostgresServer, running_postgres

settings.register_profile("default", max_examples=150)
settings.register_profile("ci", max_examples=150, derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=3000)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server
