"""Exactly once under load: two gunicorn "replicas" on one PostgreSQL, hundreds of calls.

Real HTTP over plain ``http://127.0.0.1`` (as the scheduler calls), real
worker processes and threads, a real database: each slot must have run once
(one ``JobEffect``, one ``CronRun``) and every other call must be a 409.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.django.servers import Gunicorn, PostgresServer, http_json, manage, project_env, running

KEY = "test-cron-key-" + "k" * 32
CALLS_PER_SLOT = 120
pytestmark = pytest.mark.postgres


def recent(seconds_ago: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=seconds_ago)


def z(slot: dt.datetime) -> str:
    return slot.strftime("%Y-%m-%dT%H:%M:%SZ")


def post(server: Gunicorn, job: str, slot: dt.datetime) -> tuple[int, Any]:
    return http_json(
        "POST",
        f"{server.base}/api/cron/{job}/?slot={z(slot)}",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
    )


@pytest.fixture
def env(pg_database: str) -> dict[str, str]:
    environment = project_env(DATABASE_URI=pg_database, TEST_JOB_SLEEP="0.3")
    manage(environment, "migrate", "--noinput")
    return environment


def fire(servers: list[Gunicorn], job: str, slot: dt.datetime) -> list[tuple[int, Any]]:
    """``CALLS_PER_SLOT`` concurrent calls for one slot, spread over the replicas."""
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [
            pool.submit(post, servers[n % len(servers)], job, slot) for n in range(CALLS_PER_SLOT)
        ]
        return [future.result() for future in futures]


def assert_one_ran(answers: list[tuple[int, Any]], ran: int) -> dict[str, Any]:
    statuses = Counter(status for status, _ in answers)
    assert statuses == {ran: 1, 409: CALLS_PER_SLOT - 1}, answers[:5]
    reasons = Counter(body["reason"] for status, body in answers if status == 409)
    assert set(reasons) <= {"running", "done"}
    (winner,) = [body for status, body in answers if status == ran]
    return dict(winner)


def wait_for_status(postgres: PostgresServer, db: str, run_id: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = postgres.sql(f"SELECT status FROM swarmkit_cronrun WHERE run_id = '{run_id}'", db)
        if rows and rows[0][0] == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not become {status}")


def test_two_replicas_run_each_slot_exactly_once(
    env: dict[str, str], postgres: PostgresServer, pg_database: str, tmp_path: Path
) -> None:
    db = pg_database.rsplit("/", 1)[1]
    options = ("--worker-class", "gthread", "--threads", "4")
    replicas = [
        Gunicorn(env, workers=3, args=options, log=tmp_path / f"replica{n}.log") for n in (1, 2)
    ]
    with running(replicas[0]), running(replicas[1]):
        slots = [recent(20 - n) for n in range(3)]
        winners = []
        for slot in slots:
            winner = assert_one_ran(fire(replicas, "quick", slot), 200)
            assert (winner["slot"], winner["status"]) == (z(slot), "succeeded")
            winners.append(winner)

        background_slot = recent(5)
        winner = assert_one_ran(fire(replicas, "in_background", background_slot), 202)
        assert (winner["status"], winner["duration_ms"]) == ("running", None)
        wait_for_status(postgres, db, winner["run_id"], "succeeded")

    effects = postgres.sql(
        "SELECT job, slot, count(*), min(token) FROM jobs_jobeffect GROUP BY job, slot", db
    )
    runs = postgres.sql(
        "SELECT job, slot, count(*), min(token), min(status), min(run_id::text) "
        "FROM swarmkit_cronrun GROUP BY job, slot ORDER BY min(token)",
        db,
    )
    expected = [("quick", slot) for slot in slots] + [("in_background", background_slot)]
    assert sorted((job, slot) for job, slot, _, _ in effects) == sorted(expected)
    assert all(count == 1 for _, _, count, _ in effects)
    assert [
        (job, slot, count, status) for job, slot, count, _, status, _ in runs if job == "quick"
    ] == [("quick", slot, 1, "succeeded") for slot in slots]
    assert [run_id for job, *_, run_id in runs if job == "quick"] == [w["run_id"] for w in winners]
    # Each effect ran under the fencing token its run recorded; tokens only grow.
    tokens = {(job, slot): token for job, slot, _, token in effects}
    assert all(tokens[(job, slot)] == token for job, slot, _, token, _, _ in runs)
    quick_tokens = [token for job, _, _, token, _, _ in runs if job == "quick"]
    assert quick_tokens == sorted(set(quick_tokens))
