"""The probes over real HTTP: gunicorn workers, a real PostgreSQL that goes away.

What Swarm relies on: alive is 503 until the container was ready once, then
200 whatever happens to the database (also from a worker started during the
outage), while ready follows the database within the TTL. And the probes
answer plain HTTP with the container's address as Host although the project
has ``ALLOWED_HOSTS = ["app.example.com"]`` and ``SECURE_SSL_REDIRECT``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import django
import pytest

from tests.django.servers import Gunicorn, PostgresServer, manage, project_env

pytestmark = pytest.mark.postgres

TTL = 1.0
VERSION = django.get_version().encode()
# Generous: no assertion here is about speed, only about eventually.
PATIENCE = 30.0


def request(
    server: Gunicorn,
    path: str,
    *,
    method: str = "GET",
    host: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request with http.client: redirects are not followed (nothing leaves 127.0.0.1)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=PATIENCE)
    try:
        all_headers = dict(headers or {})
        if host is not None:
            all_headers["Host"] = host
        connection.request(method, path, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def probe(server: Gunicorn, path: str, host: str | None = None) -> tuple[int, Any]:
    status, _, body = request(server, path, host=host)
    return status, json.loads(body)


def eventually(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + PATIENCE
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} after {PATIENCE}s")
        time.sleep(0.05)


def database_stats(postgres: PostgresServer, database: str) -> tuple[int, int]:
    """``(transactions committed, sessions opened)`` so far in ``database``."""
    # Read from the postgres database, so reading does not count itself.
    rows = postgres.sql(
        f"SELECT xact_commit, sessions FROM pg_stat_database WHERE datname = '{database}'"
    )
    return int(rows[0][0]), int(rows[0][1])


@pytest.fixture
def project(pg_database: str, tmp_path: Path) -> dict[str, str]:
    return project_env(
        DATABASE_URI=pg_database,
        SWARMKIT_STATE_DIR=str(tmp_path / "state"),
        SWARMKIT_HEALTH_TTL=str(TTL),
    )


@pytest.fixture
def server(project: dict[str, str], tmp_path: Path) -> Iterator[Gunicorn]:
    gunicorn = Gunicorn(project, workers=2, log=tmp_path / "gunicorn.log").start()
    try:
        yield gunicorn
    finally:
        gunicorn.stop()


def replace_workers(server: Gunicorn) -> list[int]:
    """SIGKILL every worker; return the pids of the ones the master starts instead."""
    old = set(server.worker_pids())
    for pid in old:
        os.kill(pid, signal.SIGKILL)

    def replaced() -> list[int] | None:
        pids = server.worker_pids()
        return pids if len(pids) == server.workers and not old & set(pids) else None

    return list(eventually(replaced, "all workers replaced"))


def test_outage_keeps_alive_and_ready_follows_the_database(
    postgres: PostgresServer,
    project: dict[str, str],
    server: Gunicorn,
    tmp_path: Path,
) -> None:
    # A new release before its migrations ran: neither alive nor ready.
    assert probe(server, "/api/alive/") == (503, {"status": "starting"})
    assert probe(server, "/api/ready/") == (
        503,
        {
            "status": "unready",
            "checks": {"database:default": "ok", "migrations": "unapplied migrations"},
        },
    )
    assert not (tmp_path / "state" / "alive").exists()

    manage(project, "migrate", "--noinput")
    eventually(lambda: probe(server, "/api/alive/")[0] == 200, "alive after migrate")
    assert (tmp_path / "state" / "alive").is_file()
    # Every worker, not just one: a worker's unready result lives until its TTL ends.
    eventually(
        lambda: all(probe(server, "/api/ready/")[0] == 200 for _ in range(8)),
        "ready in every worker after migrate",
    )

    postgres.stop()
    try:
        # Probes reach a worker at random: one that never answered since the
        # migrate cannot know them ("unknown"); one that did keeps "ok".
        def unready_and_still_knows_migrations() -> dict[str, Any] | None:
            status, document = probe(server, "/api/ready/")
            if status != 503:
                return None
            assert document["checks"]["database:default"] == "unreachable", document
            assert document["checks"]["migrations"] in ("ok", "unknown"), document
            return document if document["checks"]["migrations"] == "ok" else None

        document = eventually(
            unready_and_still_knows_migrations, "unready with PostgreSQL stopped, migrations ok"
        )
        assert document == {
            "status": "unready",
            "checks": {"database:default": "unreachable", "migrations": "ok"},
        }
        assert probe(server, "/api/alive/") == (200, {"status": "alive"})

        # Workers recycled during the outage start from the marker, not from 503.
        replace_workers(server)
        for _ in range(2 * server.workers):
            assert probe(server, "/api/alive/") == (200, {"status": "alive"})
        status, document = probe(server, "/api/ready/")
        assert status == 503
        assert document["checks"] == {"database:default": "unreachable", "migrations": "unknown"}
    finally:
        postgres.start()

    # A fresh worker learns that migrations are applied once the database is back.
    eventually(
        lambda: all(probe(server, "/api/ready/")[0] == 200 for _ in range(2 * server.workers)),
        "ready again after PostgreSQL restarted",
    )
    assert probe(server, "/api/alive/") == (200, {"status": "alive"})


@pytest.mark.parametrize("host", [None, "app:8000", "10.0.1.7:8000"])
def test_probes_bypass_host_validation_and_the_https_redirect(
    project: dict[str, str], server: Gunicorn, host: str | None
) -> None:
    manage(project, "migrate", "--noinput")
    # The rest of the site: foreign Host refused, plain HTTP redirected.
    assert request(server, "/bare/", host=host)[0] == 400
    assert request(server, "/bare/", host="app.example.com")[0] == 301
    https = {"X-Forwarded-Proto": "https"}
    assert request(server, "/bare/", host="app.example.com", headers=https)[0] == 200

    for path, ok in (("/api/alive/", {"status": "alive"}), ("/api/ready/", None)):
        status, headers, body = request(server, path, host=host)
        assert status == 200, body
        assert headers["Content-Type"] == "application/json"
        assert headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in headers
        document = json.loads(body)
        if ok is not None:
            assert document == ok
        else:
            assert document == {
                "status": "ready",
                "checks": {"database:default": "ok", "migrations": "ok"},
            }
        # Nothing about the machine or the software in the body.
        for leak in (b"127.0.0.1", b"postgres", b"gunicorn", b"Traceback", VERSION):
            assert leak not in body

        status, headers, body = request(server, path, method="HEAD", host=host)
        assert (status, body) == (200, b"")
        status, headers, _ = request(server, path, method="POST", host=host)
        assert status == 405
        assert headers["Allow"] == "GET, HEAD"

    # The cron endpoint is reached over plain HTTP too: its own answer (no key),
    # not host validation's 400 or the redirect's 301.
    status, headers, _ = request(server, "/api/cron/nothing/", method="POST", host=host)
    assert status not in (301, 400)
    assert headers["Content-Type"].startswith("application/json")


def test_ready_costs_one_select_per_ttl_per_process(
    postgres: PostgresServer, pg_database: str, project: dict[str, str], server: Gunicorn
) -> None:
    database = pg_database.rsplit("/", 1)[1]
    # As production servers usually run: otherwise Django's connection set-up
    # adds a set_config(TimeZone) to every new connection (our cluster is in Etc/UTC).
    postgres.sql(f"ALTER DATABASE \"{database}\" SET TimeZone = 'UTC'")
    manage(project, "migrate", "--noinput")
    # Warm up: every worker has found the migrations applied (later checks are SELECT 1).
    eventually(lambda: all(probe(server, "/api/ready/")[0] == 200 for _ in range(8)), "ready")
    time.sleep(TTL + 1.0)
    transactions, sessions = database_stats(postgres, database)
    started = time.monotonic()
    served = 0
    while time.monotonic() - started < 4 * TTL:
        assert request(server, "/api/ready/")[0] == 200
        served += 1
    elapsed = time.monotonic() - started
    time.sleep(1.0)  # a backend reports its counters when its session ends
    transactions = database_stats(postgres, database)[0] - transactions
    sessions = database_stats(postgres, database)[1] - sessions

    # CONN_MAX_AGE = 0: each check is one session, whose start-up is one
    # transaction, and our SELECT 1 is the other. At most one check per TTL
    # per worker (+1 each for where the window starts).
    assert 0 < sessions <= (elapsed / TTL + 1) * server.workers, (sessions, elapsed)
    # + 3: an autovacuum worker may pass by.
    assert transactions - sessions <= sessions + 3, (transactions, sessions)
    assert served > 10 * transactions, (transactions, served)
