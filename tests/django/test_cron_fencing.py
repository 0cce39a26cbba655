"""Fencing: a holder that stalled past its lease cannot record its run's outcome.

A paused container (``docker pause``, a frozen VM, a long GC) stops its
heartbeat with everything else; its lease expires, a newer holder takes it
and marks the run ``lost``. When the stale holder resumes and its job ends,
the end is recorded only ``WHERE token = <its token> AND status = 'running'``:
the ``lost`` record stays, and the stale holder logs that it was fenced off.

Twice: in-process (SQLite, the heartbeat of the paused holder not running,
caplog), and for real on PostgreSQL, a gunicorn replica frozen with SIGSTOP
while another replica takes over, then thawed with SIGCONT.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from swarmkit.django import lease
from swarmkit.django.cron import RunContext, cron_job, get_job
from swarmkit.django.models import CronLease, CronRun
from swarmkit.django.runs import Conflict, RunResult, run_slot
from tests.django.servers import Gunicorn, PostgresServer, http_json, manage, project_env, running

KEY = "test-cron-key-" + "k" * 32
FENCED = "was fenced off"


def recent(seconds_ago: int = 5) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=seconds_ago)


def z(slot: dt.datetime) -> str:
    return slot.strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class _PausedHeartbeat(lease.Heartbeat):
    """The heartbeat of a paused process: it exists, but never beats."""

    def start(self) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_a_stale_holder_does_not_overwrite_lost(
    registry: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(lease, "Heartbeat", _PausedHeartbeat)
    slot = recent()
    takeover: list[RunResult | Conflict] = []

    @cron_job("* * * * * *", lease=0.3, name="stalls")
    def stalls(run: RunContext) -> None:
        # "Paused": no renewal, until the lease has expired in the database.
        wait_until(
            lambda: CronLease.objects.get(job="stalls").expires_at < dt.datetime.now(dt.UTC),
            10,
            "the lease to expire",
        )
        time.sleep(0.05)  # the database's clock, not ours, decides expiry
        # Another replica is called for the same slot meanwhile and takes the lease.
        job = get_job("stalls")
        assert job is not None
        takeover.append(run_slot(job, slot))

    job = get_job("stalls")
    assert job is not None
    with caplog.at_level(logging.WARNING, logger="swarmkit.cron"):
        result = run_slot(job, slot)

    (newer,) = takeover
    assert isinstance(newer, Conflict)
    assert (newer.reason, newer.status) == ("done", "lost")
    # The stale holder resumed and its job returned normally: still lost, not succeeded.
    assert isinstance(result, RunResult) and result.status == "lost"
    run = CronRun.objects.get()
    assert run.status == "lost" and run.token == result.token
    assert run.error.startswith("lost: the holder stopped renewing")
    assert run.duration_ms is None  # the stale holder's figures were not written either
    fenced = [r for r in caplog.records if FENCED in r.getMessage()]
    assert len(fenced) == 1 and fenced[0].levelno == logging.WARNING
    message = fenced[0].getMessage()
    assert f"token {result.token}" in message and z(slot) in message
    assert "recorded it as lost" in message and "(succeeded) is not recorded" in message
    # The lease belongs to the newer holder: the stale one did not release it either.
    assert CronLease.objects.get(job="stalls").token == result.token + 1


@pytest.mark.django_db(transaction=True)
def test_a_holder_that_kept_its_lease_records_its_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fence lets the rightful holder through: no warning, the outcome recorded."""
    job = get_job("quick")
    assert job is not None
    with caplog.at_level(logging.WARNING, logger="swarmkit.cron"):
        result = run_slot(job, recent())
    assert isinstance(result, RunResult) and result.status == "succeeded"
    assert CronRun.objects.get().status == "succeeded"
    assert not [r for r in caplog.records if FENCED in r.getMessage()]


# --- for real: a frozen replica on PostgreSQL --------------------------------------------


SLOW_LEASE = 2.0  # the slow job's lease (tests/django/project/jobs/cron.py)


def post(server: Gunicorn, slot: dt.datetime, timeout: float = 30) -> tuple[int, Any]:
    return http_json(
        "POST",
        f"{server.base}/api/cron/slow/?slot={z(slot)}",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=timeout,
    )


@pytest.mark.postgres
def test_a_replica_paused_past_its_lease_is_fenced_off_on_postgresql(
    pg_database: str, postgres: PostgresServer, tmp_path: Path
) -> None:
    db = pg_database.rsplit("/", 1)[1]

    def sql(statement: str) -> list[tuple[Any, ...]]:
        return postgres.sql(statement, db)

    base = project_env(DATABASE_URI=pg_database)
    manage(base, "migrate", "--noinput")
    frozen = Gunicorn(
        {**base, "TEST_SLOW_SECONDS": "3"},
        workers=1,
        args=("--timeout", "120"),  # the master must not kill the thawed worker
        log=tmp_path / "frozen.log",
    )
    other = Gunicorn({**base, "TEST_SLOW_SECONDS": "0.2"}, workers=1, log=tmp_path / "other.log")
    slot = recent(2)

    with running(frozen), running(other), ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(post, frozen, slot, 90)
        wait_until(
            lambda: sql("SELECT status FROM swarmkit_cronrun") == [("running",)],
            30,
            "the frozen replica to start the slot",
        )
        assert frozen.proc is not None
        # The whole replica (master and worker), as docker pause freezes a container.
        os.killpg(frozen.proc.pid, signal.SIGSTOP)
        try:
            wait_until(
                lambda: (
                    sql(
                        "SELECT expires_at < statement_timestamp() FROM swarmkit_cronlease"
                        " WHERE job = 'slow'"
                    )
                    == [(True,)]
                ),
                SLOW_LEASE + 20,
                "the frozen replica's lease to expire",
            )
            status, body = post(other, slot)
            assert (status, body.get("reason"), body.get("status")) == (409, "done", "lost"), body
        finally:
            os.killpg(frozen.proc.pid, signal.SIGCONT)
        # Thawed, its job ends normally; the endpoint reports what the record holds.
        status, body = in_flight.result(timeout=60)
        assert (status, body["status"]) == (500, "lost"), body

    ((state, error, duration),) = sql("SELECT status, error, duration_ms FROM swarmkit_cronrun")
    assert state == "lost" and error.startswith("lost: the holder stopped renewing")
    assert duration is None
    assert len(sql("SELECT 1 FROM jobs_jobeffect")) == 1  # the body ran once, on the frozen one
    log = (tmp_path / "frozen.log").read_text()
    (line,) = [line for line in log.splitlines() if FENCED in line]
    assert "cron job slow:" in line and "recorded it as lost" in line
    assert "(succeeded) is not recorded" in line
