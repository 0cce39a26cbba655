"""The source's complaint, fixed: a replica killed mid-job does not leave the lock taken.

Replica A runs the ``slow`` job (lease 2 s) and is killed with SIGKILL, master
and workers at once, as a dying container would be. Its heartbeat dies with
it, so the lease expires on its own; the dead slot is recorded ``lost`` and
never re-run, and the next slot runs on replica B. No one releases anything
by hand.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from swarmkit.django.lease import heartbeat_interval
from tests.django.servers import Gunicorn, PostgresServer, http_json, manage, project_env, running

KEY = "test-cron-key-" + "k" * 32
LEASE = 2.0  # the slow job's lease (tests/django/project/jobs/cron.py)
pytestmark = pytest.mark.postgres


def z(slot: dt.datetime) -> str:
    return slot.strftime("%Y-%m-%dT%H:%M:%SZ")


def post(server: Gunicorn, slot: dt.datetime, timeout: float = 30) -> tuple[int, Any]:
    return http_json(
        "POST",
        f"{server.base}/api/cron/slow/?slot={z(slot)}",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=timeout,
    )


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_a_killed_holder_loses_its_slot_and_the_next_slot_runs_elsewhere(
    pg_database: str, postgres: PostgresServer, tmp_path: Path
) -> None:
    db = pg_database.rsplit("/", 1)[1]

    def sql(statement: str) -> list[tuple[Any, ...]]:
        return postgres.sql(statement, db)

    base = project_env(DATABASE_URI=pg_database)
    manage(base, "migrate", "--noinput")
    # A's job would sleep a minute (it is killed long before); B's is quick.
    doomed = Gunicorn(
        {**base, "TEST_SLOW_SECONDS": "60"},
        workers=2,
        args=("--timeout", "120"),
        log=tmp_path / "a.log",
    )
    survivor = Gunicorn({**base, "TEST_SLOW_SECONDS": "0.2"}, workers=2, log=tmp_path / "b.log")
    slot = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=2)

    with running(doomed), running(survivor), ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(post, doomed, slot, 90)
        wait_until(
            lambda: sql("SELECT status FROM swarmkit_cronrun") == [("running",)],
            30,
            "replica A to start the slot",
        )
        # Longer than the lease: only A's heartbeat keeps the slot taken.
        time.sleep(LEASE * 1.5)
        status, body = post(survivor, slot)
        assert (status, body["reason"]) == (409, "running")
        (held,) = sql("SELECT expires_at > statement_timestamp() FROM swarmkit_cronlease")
        assert held == (True,)

        doomed.kill_all()
        killed_at = time.monotonic()
        assert in_flight.exception(timeout=30) is not None  # the connection died with A

        # B answers 409 until the lease expires; then the slot is done (lost).
        answers: list[tuple[float, int, str]] = []

        def slot_is_done() -> bool:
            status, body = post(survivor, slot)
            answers.append((time.monotonic() - killed_at, status, body.get("reason")))
            return body.get("reason") == "done"

        wait_until(slot_is_done, LEASE + heartbeat_interval(LEASE) + 20, "the lease to expire")
        assert all(status == 409 for _, status, _ in answers), answers
        reasons = [reason for _, _, reason in answers]
        assert reasons == ["running"] * (len(reasons) - 1) + ["done"], answers
        if answers[0][0] < LEASE / 2:
            # Called well inside the lease: the dead holder still held it.
            assert reasons[0] == "running", answers

        (lost,) = sql("SELECT status, error, token FROM swarmkit_cronrun WHERE manual = false")
        assert lost[0] == "lost" and "lost" in lost[1]
        status, body = post(survivor, slot)
        assert (status, body) == (
            409,
            {"job": "slow", "slot": z(slot), "reason": "done", "status": "lost"},
        )

        # The next slot runs, on B, with a larger fencing token.
        next_slot = slot + dt.timedelta(seconds=1)
        status, body = post(survivor, next_slot)
        assert (status, body["status"]) == (200, "succeeded"), body
        survivor_pids = set(survivor.worker_pids())

    effects = sql("SELECT slot, token, pid FROM jobs_jobeffect ORDER BY token")
    # The dead slot's body started once (on A) and was never run again.
    assert [effect_slot for effect_slot, _, _ in effects] == [slot, next_slot]
    assert effects[0][2] not in survivor_pids and effects[1][2] in survivor_pids
    runs = sql("SELECT slot, status, token FROM swarmkit_cronrun ORDER BY token")
    assert [(s, st) for s, st, _ in runs] == [(slot, "lost"), (next_slot, "succeeded")]
    assert runs[1][2] > runs[0][2] == lost[2]
    assert effects[1][1] == runs[1][2]
