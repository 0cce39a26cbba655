"""The cron scheduler: slot maths, the answer contract, and the service against real peers.

Slot maths run on real ``CronJob`` objects at fixed instants. Calls go to
real HTTP servers on 127.0.0.1: the test project under gunicorn on
PostgreSQL, or (only to force an answer the app cannot give, such as 503
then 200, or a redirect) a tiny ``http.server`` in a thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from swarmkit.django.cron import CronJob
from swarmkit.django.scheduler import (
    EventLog,
    Scheduler,
    check_url,
    classify,
    plan_slots,
    retry_delay,
)
from swarmkit.exceptions import CronError, CronSettingsError
from tests.django.canary import CANARY, assert_hidden
from tests.django.servers import REPO, Gunicorn, PostgresServer, manage, project_env, running

UTC = dt.UTC
KEY = "test-cron-key-" + "k" * 32  # the test project's default SWARMKIT_CRON_API_KEY


def job(schedule: str, name: str = "j") -> CronJob:
    return CronJob(name=name, schedule=schedule, lease=30, func=lambda: None)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- slot maths ------------------------------------------------------------------------


def test_a_slot_on_time_is_fired_and_the_next_one_awaited() -> None:
    plan = plan_slots(job("*/5 * * * *"), at("2026-01-01 00:05"), at("2026-01-01 00:05:00.2"), 60)
    assert (plan.fire, plan.next, plan.skipped) == (
        at("2026-01-01 00:05"),
        at("2026-01-01 00:10"),
        0,
    )


def test_a_late_wake_fires_only_the_latest_slot_and_counts_the_rest() -> None:
    plan = plan_slots(job("* * * * *"), at("2026-01-01 00:01"), at("2026-01-01 00:03:30"), 60)
    assert plan.fire == at("2026-01-01 00:03")
    assert (plan.skipped, plan.first_skipped, plan.capped) == (2, at("2026-01-01 00:01"), False)
    assert plan.next == at("2026-01-01 00:04")


def test_at_start_up_a_slot_within_the_grace_is_fired() -> None:
    daily = job("0 3 * * *")
    now = at("2026-01-01 03:00:45")
    plan = plan_slots(daily, daily.latest_slot(now), now, 60)
    assert (plan.fire, plan.skipped, plan.next) == (
        at("2026-01-01 03:00"),
        0,
        at("2026-01-02 03:00"),
    )


def test_at_start_up_an_older_slot_is_skipped_not_replayed() -> None:
    daily = job("0 3 * * *")
    now = at("2026-01-01 03:01:01")
    plan = plan_slots(daily, daily.latest_slot(now), now, 60)
    assert plan.fire is None
    assert (plan.skipped, plan.first_skipped, plan.next) == (
        1,
        at("2026-01-01 03:00"),
        at("2026-01-02 03:00"),
    )


def test_a_grace_of_zero_still_fires_a_slot_seen_at_its_instant() -> None:
    plan = plan_slots(job("* * * * *"), at("2026-01-01 00:01"), at("2026-01-01 00:01"), 0)
    assert plan.fire == at("2026-01-01 00:01")


def test_nothing_is_due_before_the_cursor_even_if_the_clock_went_back() -> None:
    plan = plan_slots(job("* * * * *"), at("2026-01-01 00:10"), at("2026-01-01 00:02:30"), 60)
    assert (plan.fire, plan.next, plan.skipped) == (None, at("2026-01-01 00:10"), 0)


def test_a_big_clock_jump_fires_the_latest_slot_and_caps_the_count() -> None:
    every_second = job("* * * * * *")
    plan = plan_slots(every_second, at("2026-01-01 00:00"), at("2026-01-02 00:00:00.5"), 60)
    assert plan.fire == at("2026-01-02 00:00")
    assert plan.capped and plan.skipped == 1000


def test_slots_follow_the_cron_time_zone(settings: Any) -> None:
    settings.SWARMKIT_CRON_TZ = "Europe/Lisbon"  # UTC+1 in summer
    plan = plan_slots(job("0 3 * * *"), at("2026-07-01 02:00"), at("2026-07-01 02:00:01"), 60)
    assert plan.fire == at("2026-07-01 02:00")


# --- the answer contract ---------------------------------------------------------------


def body(**data: Any) -> bytes:
    return json.dumps(data).encode()


RUN = {"job": "quick", "slot": "2026-01-01T00:00:00Z", "run_id": "r1", "duration_ms": 3}


@pytest.mark.parametrize(
    ("code", "payload", "outcome"),
    [
        (200, body(**RUN, status="succeeded"), "succeeded"),
        (202, body(**RUN, status="running"), "accepted"),
        (500, body(**RUN, status="failed"), "failed"),
        (500, body(**RUN, status="lost"), "failed"),
        (409, body(reason="running"), "conflict"),
        (409, body(reason="done", status="succeeded"), "conflict"),
        (None, b"", "retry"),
        (500, b"<h1>Server Error (500)</h1>", "retry"),
        (502, b"Bad Gateway", "retry"),
        (503, b"", "retry"),
        (504, body(status="failed"), "retry"),  # a proxy's JSON, not the endpoint's
        (408, b"", "retry"),
        (429, b"", "retry"),
        (301, b"", "config_error"),
        (302, b"", "config_error"),
        (400, body(error="slot is not on the schedule"), "config_error"),
        (401, b"", "config_error"),
        (403, b"CSRF verification failed", "config_error"),
        (404, b"", "config_error"),
        (409, b"conflict", "config_error"),
        (200, b"<html>welcome</html>", "config_error"),
    ],
)
def test_each_answer_is_classified_by_the_endpoint_contract(
    code: int | None, payload: bytes, outcome: str
) -> None:
    assert classify(code, payload).outcome == outcome


def test_a_redirect_names_its_target_and_the_middleware_fix() -> None:
    verdict = classify(301, b"", "https://app.example.com/api/cron/quick/")
    assert verdict.fields["location"] == "https://app.example.com/api/cron/quick/"
    assert "ProbeMiddleware first" in verdict.fields["hint"]


def test_retry_delays_double_up_to_the_cap() -> None:
    assert [retry_delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://app:8000/api/cron/", True),
        ("https://app.example.com/api/cron/", True),
        ("http://app:8000/api/cron", False),
        ("ftp://app/api/cron/", False),
        ("http:///api/cron/", False),
        ("http://user:pw@app:8000/api/cron/", False),
        ("http://app:8000/api/cron/?x=1", False),
    ],
)
def test_check_url(url: str, ok: bool) -> None:
    assert (check_url(url) is None) is ok


# --- a tiny real HTTP peer, for answers the app cannot give -----------------------------


class Peer:
    """An HTTP server on 127.0.0.1 that answers POSTs with ``answers`` in turn (the last repeats)."""

    def __init__(self, *answers: tuple[int, bytes, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict[str, str]]] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                peer.requests.append((self.path, dict(self.headers)))
                code, content, headers = (
                    peer.answers.pop(0) if len(peer.answers) > 1 else peer.answers[0]
                )
                self.send_response(code)
                for name, value in {"Content-Length": str(len(content)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/cron/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Peer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


Answer = tuple[int, bytes, dict[str, str]]
JSON = {"Content-Type": "application/json"}
OK: Answer = (200, body(**RUN, status="succeeded"), JSON)
UNAVAILABLE: Answer = (503, b"Service Unavailable", {})


def scheduler(url: str, *jobs: CronJob, grace: float = 60) -> tuple[Scheduler, io.StringIO]:
    out = io.StringIO()
    return Scheduler(
        jobs, url=url, key=KEY, log=EventLog(out), timeout=5, grace=grace, drain=5
    ), out


def events(out: io.StringIO | str) -> list[dict[str, Any]]:
    text = out.getvalue() if isinstance(out, io.StringIO) else out
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def wait_for_event(out: io.StringIO, event: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not any(e["event"] == event for e in events(out)):
        assert time.monotonic() < deadline, f"no {event!r} event in {out.getvalue()}"
        time.sleep(0.05)


def test_a_failed_call_is_retried_with_backoff_until_it_succeeds() -> None:
    with Peer(UNAVAILABLE, UNAVAILABLE, OK) as peer:
        sched, out = scheduler(peer.url, job("0 0 1 1 *", "yearly"))
        assert sched.run_once(threading.Event()) == {"yearly": "succeeded"}
    slot = job("0 0 1 1 *").latest_slot(dt.datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [path for path, _ in peer.requests] == [f"/api/cron/yearly/?slot={slot}"] * 3
    assert all(headers["Authorization"] == f"Bearer {KEY}" for _, headers in peer.requests)
    log = events(out)
    assert [(e["event"], e.get("attempt"), e.get("delay")) for e in log if "attempt" in e] == [
        ("retry", 1, 1.0),
        ("retry", 2, 2.0),
        ("succeeded", 3, None),
    ]
    assert log[-1]["event"] == "stopped"
    assert KEY not in out.getvalue()


def test_no_retry_after_the_endpoint_says_done_or_failed() -> None:
    done = (409, body(reason="done", status="succeeded"), JSON)
    failed = (500, body(**RUN, status="failed"), JSON)
    with Peer(UNAVAILABLE, done) as peer_done, Peer(failed, OK) as peer_failed:
        sched, out = scheduler(peer_done.url, job("0 0 1 1 *", "yearly"))
        assert sched.run_once(threading.Event()) == {"yearly": "conflict"}
        assert len(peer_done.requests) == 2
        assert [e["event"] for e in events(out)][-2:] == ["conflict", "stopped"]

        sched, out = scheduler(peer_failed.url, job("0 0 1 1 *", "yearly"))
        assert sched.run_once(threading.Event()) == {"yearly": "failed"}
        assert len(peer_failed.requests) == 1


def test_retries_stop_at_the_end_of_the_window() -> None:
    with Peer(UNAVAILABLE) as peer:
        sched, out = scheduler(peer.url, job("0 0 1 1 *", "yearly"), grace=2.9)
        assert sched.run_once(threading.Event()) == {"yearly": "gave_up"}
    # attempts at 0 s and 1 s; the next (1 + 2 s) would start after the 2.9 s window
    assert len(peer.requests) == 2
    last = events(out)[-2]
    assert (last["event"], last["attempt"], last["code"]) == ("gave_up", 2, 503)
    assert last["reason"] == "retry window over"


def test_at_start_up_a_slot_older_than_the_grace_is_skipped() -> None:
    with Peer(OK) as peer:
        sched, out = scheduler(peer.url, job("0 0 1 1 *", "yearly"))
        stop = threading.Event()
        runner = threading.Thread(target=sched.run, args=(stop,))
        runner.start()
        wait_for_event(out, "skipped")
        stop.set()
        runner.join(15)
    assert peer.requests == []
    skipped = next(e for e in events(out) if e["event"] == "skipped")
    assert (skipped["count"], skipped["reason"]) == (1, "older than the grace at start-up")
    assert [e["event"] for e in events(out)][-2:] == ["stopping", "stopped"]


def test_in_service_a_slot_is_retried_only_until_the_next_slot() -> None:
    # Every 2 s: attempts at +0 s and +1 s; a third (+3 s) would run into the next slot.
    with Peer(UNAVAILABLE) as peer:
        sched, out = scheduler(peer.url, job("* * * * * */2", "two"))
        stop = threading.Event()
        runner = threading.Thread(target=sched.run, args=(stop,))
        runner.start()
        time.sleep(4.5)
        stop.set()
        runner.join(15)
    assert not runner.is_alive()
    attempts = Counter(e["slot"] for e in events(out) if e["event"] in ("retry", "gave_up"))
    assert attempts and max(attempts.values()) <= 2
    assert {e["reason"] for e in events(out) if e["event"] == "gave_up"} <= {
        "retry window over",
        "stopping",
    }


def test_a_redirect_is_not_followed_and_is_a_configuration_error() -> None:
    with Peer(OK) as elsewhere:
        moved = (301, b"", {"Location": elsewhere.url + "yearly/"})
        with Peer(moved) as peer:
            sched, out = scheduler(peer.url, job("0 0 1 1 *", "yearly"))
            assert sched.run_once(threading.Event()) == {"yearly": "config_error"}
        assert (len(peer.requests), len(elsewhere.requests)) == (1, 0)
    error = next(e for e in events(out) if e["event"] == "config_error")
    assert error["code"] == 301 and error["location"] == elsewhere.url + "yearly/"
    assert "ProbeMiddleware" in error["hint"]


def test_stop_ends_a_retry_wait_at_once() -> None:
    with Peer(UNAVAILABLE) as peer:
        sched, out = scheduler(peer.url, job("0 0 1 1 *", "yearly"))
        stop = threading.Event()
        result: list[dict[str, str]] = []
        runner = threading.Thread(target=lambda: result.append(sched.run_once(stop)))
        runner.start()
        wait_for_event(out, "retry")
        stop.set()
        runner.join(5)
    assert result == [{"yearly": "gave_up"}]
    assert events(out)[-2]["reason"] == "stopping"


# --- the management command ------------------------------------------------------------


def test_the_command_refuses_to_start_without_a_url(settings: Any) -> None:
    settings.SWARMKIT_CRON_URL = None
    with pytest.raises(CommandError, match="SWARMKIT_CRON_URL is not set"):
        call_command("cron_scheduler")
    settings.SWARMKIT_CRON_URL = "http://app:8000/api/cron"
    with pytest.raises(CommandError, match="does not end in '/'"):
        call_command("cron_scheduler")


def test_the_command_refuses_without_a_key_or_with_an_unknown_job(settings: Any) -> None:
    settings.SWARMKIT_CRON_URL = "http://app:8000/api/cron/"
    with pytest.raises(CommandError, match="no such cron job: nope"):
        call_command("cron_scheduler", "--job", "nope")
    settings.SWARMKIT_CRON_API_KEY = ""
    with pytest.raises(CommandError, match="cron_api_key"):
        call_command("cron_scheduler")


def test_once_exits_non_zero_when_a_job_did_not_run() -> None:
    with Peer(OK) as ok, Peer((404, b"", {})) as missing:
        out = io.StringIO()
        call_command("cron_scheduler", "--once", "--url", ok.url, "--job", "quick", stdout=out)
        assert [e["event"] for e in events(out)] == ["started", "fired", "succeeded", "stopped"]
        with pytest.raises(CommandError, match="did not run: quick"):
            call_command(
                "cron_scheduler", "--once", "--url", missing.url, "--job", "quick", stdout=out
            )


# --- the service as a process ----------------------------------------------------------


@contextlib.contextmanager
def scheduler_process(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "django", "cron_scheduler", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)


def read_until(
    proc: subprocess.Popen[str], event: str, seen: list[str], timeout: float = 20
) -> None:
    """Read ``proc``'s log lines into ``seen`` until one has ``event``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if json.loads(line)["event"] == event:
            return
    raise AssertionError(f"no {event!r} event in:\n{''.join(seen)}")


def terminate(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, err


def test_a_second_signal_exits_at_once() -> None:
    # A peer that takes the connection and never answers keeps a call in flight.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api/cron/"
        env = project_env(SWARMKIT_CRON_URL=url)
        with scheduler_process(env, "--job", "quick", "--drain", "30") as proc:
            seen: list[str] = []
            read_until(proc, "fired", seen)
            proc.send_signal(signal.SIGTERM)
            read_until(proc, "stopping", seen)
            code, out, _ = terminate(proc)
    assert code == 128 + signal.SIGTERM
    assert json.loads(out.splitlines()[-1]) | {"ts": None} == {
        "ts": None,
        "event": "killed",
        "signal": "SIGTERM",
    }


def migrated_env(pg_database: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = project_env(DATABASE_URI=pg_database, SWARMKIT_STATE_DIR=str(tmp_path), **extra)
    manage(env, "migrate", "--noinput")
    return env


def effects(postgres: PostgresServer, pg_database: str) -> list[tuple[str, str]]:
    rows = postgres.sql(
        "SELECT job, to_char(slot AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "FROM jobs_jobeffect",
        pg_database.rsplit("/", 1)[1],
    )
    return [(str(job), str(slot)) for job, slot in rows]


@pytest.mark.postgres
def test_two_schedulers_run_each_slot_once_and_stop_on_sigterm(
    postgres: PostgresServer, pg_database: str, tmp_path: Path
) -> None:
    env = migrated_env(pg_database, tmp_path, TEST_JOB_SLEEP="0.3")
    jobs = ("--job", "quick", "--job", "broken", "--job", "in_background")
    with running(Gunicorn(env, workers=4, log=tmp_path / "gunicorn.log")) as app:
        sched_env = dict(env, SWARMKIT_CRON_URL=f"{app.base}/api/cron/")
        with scheduler_process(sched_env, *jobs) as one, scheduler_process(sched_env, *jobs) as two:
            time.sleep(4)
            results = [terminate(one), terminate(two)]
        logs = [events(out) for _, out, _ in results]
        ran = Counter(
            (e["job"], e["slot"])
            for log in logs
            for e in log
            if e["event"] in ("succeeded", "failed", "accepted")
        )
        deadline = time.monotonic() + 10  # background runs write their effect after the 202
        while set(effects(postgres, pg_database)) != set(ran) and time.monotonic() < deadline:
            time.sleep(0.1)
        found = effects(postgres, pg_database)
    for code, _, err in results:
        assert code == 0, err
    for log in logs:
        names = [e["event"] for e in log]
        assert names[0] == "started" and names[-1] == "stopped" and log[-1]["abandoned"] == 0
        assert {"signal", "stopping", "fired", "conflict"} <= set(names)
        assert not {"retry", "gave_up", "config_error"} & set(names), log
        # One settling answer per fired slot, and nothing after it.
        settled = Counter(
            (e["job"], e["slot"])
            for e in log
            if e["event"] in ("succeeded", "failed", "accepted", "conflict")
        )
        fired = Counter((e["job"], e["slot"]) for e in log if e["event"] == "fired")
        assert settled == fired
    assert {job for job, _ in ran} == {"quick", "broken", "in_background"}
    assert max(ran.values()) == 1  # never both schedulers
    assert sorted(found) == sorted(ran)  # each slot that ran, ran once


@pytest.mark.postgres
def test_a_scheduler_keeps_retrying_until_the_app_comes_up(
    postgres: PostgresServer, pg_database: str, tmp_path: Path
) -> None:
    env = migrated_env(pg_database, tmp_path)
    app = Gunicorn(env, workers=2, log=tmp_path / "gunicorn.log")  # its port, not yet listening
    sched_env = dict(env, SWARMKIT_CRON_URL=f"{app.base}/api/cron/")
    try:
        with scheduler_process(sched_env, "--once", "--job", "quick") as proc:
            seen: list[str] = []
            read_until(proc, "retry", seen)
            app.start()
            out, err = proc.communicate(timeout=60)
    finally:
        app.stop()
    assert proc.returncode == 0, err
    log = events("".join(seen) + out)
    done = next(e for e in log if e["event"] == "succeeded")
    assert done["attempt"] >= 2
    assert effects(postgres, pg_database) == [("quick", done["slot"])]


# --- bad settings: CronSettingsError, never the key ---------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://app:99999/api/cron/", False),
        ("http://app:port/api/cron/", False),
        ("http://[::1/api/cron/", False),
        ("http://[::1]:8000/api/cron/", True),
        ("http://app:8000/api/cron/#x", False),
    ],
)
def test_check_url_ports_and_literals(url: str, ok: bool) -> None:
    assert (check_url(url) is None) is ok


@pytest.mark.parametrize(
    "url",
    [
        f"http://app:{CANARY}@app:8000/api/cron/",
        f"http://{CANARY}@app:8000/api/cron/",
        f"http://app:{CANARY}@[::1/api/cron/",
        f"http://app:{CANARY}@app:99999/api/cron/",
        f"ftp://app:{CANARY}@app/api/cron/",
        f"app:{CANARY}@app/api/cron",
    ],
)
def test_check_url_never_quotes_credentials(url: str) -> None:
    problem = check_url(url)
    assert problem is not None and CANARY not in problem


@pytest.mark.parametrize(
    ("url", "key", "fragment"),
    [
        ("http://app:8000/api/cron", KEY, "does not end in '/'"),
        (f"http://u:{CANARY}@app:8000/api/cron/", KEY, "credentials"),
        ("http://app:8000/api/cron/", "", "empty"),
        ("http://app:8000/api/cron/", " \t\r\n", "empty"),
        ("http://app:8000/api/cron/", f"{CANARY}\nX-Injected: 1", "not printable ASCII"),
        ("http://app:8000/api/cron/", f"{CANARY}é", "not printable ASCII"),
        ("http://app:8000/api/cron/", f"{CANARY}\x00", "not printable ASCII"),
    ],
)
def test_the_scheduler_refuses_bad_settings_with_cron_settings_error(
    url: str, key: str, fragment: str
) -> None:
    """Before, a bad URL was a bare ValueError and a bad key got as far as http.client."""
    with pytest.raises(CronSettingsError) as caught:
        Scheduler([job("* * * * *")], url=url, key=key, log=EventLog(io.StringIO()))
    assert fragment in str(caught.value)
    assert isinstance(caught.value, CronError) and not isinstance(caught.value, ValueError)
    assert_hidden(exc=caught.value)


def test_the_scheduler_strips_the_key_as_the_endpoint_does() -> None:
    with Peer(OK) as peer:
        sched = Scheduler(
            [job("0 0 1 1 *", "yearly")], url=peer.url, key=f" {KEY} \r\n",
            log=EventLog(io.StringIO()), timeout=5,
        )  # fmt: skip
        assert sched.run_once(threading.Event()) == {"yearly": "succeeded"}
    assert [headers["Authorization"] for _, headers in peer.requests] == [f"Bearer {KEY}"]


def test_the_command_refuses_bad_settings_in_one_line(settings: Any) -> None:
    settings.SWARMKIT_CRON_URL = f"http://u:{CANARY}@app:8000/api/cron/"
    with pytest.raises(CommandError) as caught:
        call_command("cron_scheduler")
    assert "credentials" in str(caught.value)
    assert_hidden(exc=caught.value)
    settings.SWARMKIT_CRON_URL = "http://app:8000/api/cron/"
    settings.SWARMKIT_CRON_API_KEY = f"{CANARY}\x01"
    with pytest.raises(CommandError, match="not printable ASCII") as caught:
        call_command("cron_scheduler")
    assert_hidden(exc=caught.value)


def test_an_unreadable_key_secret_stops_the_command_in_one_line(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del settings.SWARMKIT_CRON_API_KEY
    settings.SWARMKIT_CRON_URL = "http://app:8000/api/cron/"
    monkeypatch.setenv("CRON_API_KEY_FILE", "/dev/zero")
    with pytest.raises(CommandError) as caught:
        call_command("cron_scheduler")
    assert str(caught.value).startswith("secret 'cron_api_key': $CRON_API_KEY_FILE names")
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_an_answer_that_echoes_the_key_is_logged_without_it() -> None:
    """A proxy or debug page that echoes the request's headers in a 4xx body."""
    key = f"{CANARY}-" + "k" * 40
    echo = f"bad request; headers: Authorization: Bearer {key}".rjust(190).encode()
    with Peer((400, echo, {}), (400, json.dumps({"auth": key}).encode(), JSON)) as peer:
        for _ in range(2):
            out = io.StringIO()
            sched = Scheduler(
                [job("0 0 1 1 *", "yearly")], url=peer.url, key=key, log=EventLog(out), timeout=5
            )
            assert sched.run_once(threading.Event()) == {"yearly": "config_error"}
            assert "<the API key>" in out.getvalue()
            assert_hidden(texts=[out.getvalue()])
    assert all(headers["Authorization"] == f"Bearer {key}" for _, headers in peer.requests)
