"""The cron endpoint in-process: every status and body, on SQLite with real threads.

``transaction=True`` everywhere a job runs: the lease and the run record must
commit before the job starts, and the heartbeat and background threads use
their own connections.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from swarmkit.django import cron, lease
from swarmkit.django.conf import CRON_KEY_STRIP
from swarmkit.django.cron import cron_job, get_job
from swarmkit.django.models import CronLease, CronRun
from swarmkit.django.runs import MAX_PAST, SlotError, check_slot, run_slot, wait_for_background
from swarmkit.exceptions import CronError
from tests.django.canary import CANARY, assert_hidden
from tests.django.project.jobs.models import JobEffect

KEY = "test-cron-key-" + "k" * 32
BODY_KEYS = {"job", "slot", "run_id", "status", "duration_ms"}
pytestmark = pytest.mark.django_db(transaction=True)


def recent(seconds_ago: int = 5) -> dt.datetime:
    """A slot of the every-second jobs, a little in the past."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return now - dt.timedelta(seconds=seconds_ago)


def z(slot: dt.datetime) -> str:
    return slot.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def client() -> Client:
    """Calls as the scheduler makes them: plain HTTP, a Host not in ALLOWED_HOSTS.

    ProbeMiddleware serves the cron view ahead of host validation and the
    SSL redirect of the production settings.
    """
    return Client(HTTP_HOST="app:8000")


def call(
    client: Client,
    job: str,
    slot: dt.datetime | str | None = None,
    *,
    key: str | None = KEY,
    method: str = "post",
    auth: str | None = None,
    secure: bool = False,
) -> tuple[int, Any, Any]:
    url = reverse("swarmkit:cron", kwargs={"job": job})
    if slot is not None:
        url += "?slot=" + (slot if isinstance(slot, str) else z(slot))
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth
    elif key is not None:
        headers["Authorization"] = f"Bearer {key}"
    response = getattr(client, method)(url, headers=headers, secure=secure)
    if response.status_code != 301:
        assert response["Cache-Control"] == "no-store"
    try:
        body = json.loads(response.content)
    except ValueError:
        body = response.content
    return response.status_code, body, response


# --- method and authentication ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "delete", "head", "options"])
def test_only_post(client: Client, method: str) -> None:
    status, _, response = call(client, "quick", recent(), method=method)
    assert status == 405
    assert response["Allow"] == "POST"
    assert not CronRun.objects.exists()


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "",
        f"Basic {KEY}",
        "Bearer",
        "Bearer ",
        f"Bearer {KEY[:-1]}",
        f"Bearer {KEY}x",
        f"Bearer {KEY.upper()}",
        "Bearer ключ",
    ],
)
def test_401_without_a_valid_key_reveals_nothing(client: Client, auth: str | None) -> None:
    known = call(client, "quick", recent(), key=None, auth=auth)
    unknown = call(client, "no-such-job", recent(), key=None, auth=auth)
    assert known[0] == unknown[0] == 401
    assert known[1] == unknown[1]
    assert "quick" not in json.dumps(known[1])
    assert known[2]["WWW-Authenticate"].startswith("Bearer")
    assert not CronRun.objects.exists() and not JobEffect.objects.exists()


def test_401_when_no_key_is_configured(client: Client, settings: Any) -> None:
    settings.SWARMKIT_CRON_API_KEY = None
    assert call(client, "quick", recent())[0] == 401
    assert call(client, "quick", recent(), auth="Bearer ")[0] == 401
    settings.SWARMKIT_CRON_API_KEY = ""
    assert call(client, "quick", recent(), auth="Bearer ")[0] == 401


def test_key_from_the_cron_api_key_secret(
    client: Client, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del settings.SWARMKIT_CRON_API_KEY
    (tmp_path / "cron_api_key").write_text("from-the-secret-file-" + "s" * 20 + "\n")
    monkeypatch.setenv("SWARMKIT_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("CRON_API_KEY", raising=False)
    monkeypatch.delenv("CRON_API_KEY_FILE", raising=False)
    assert call(client, "quick", recent())[0] == 401
    assert call(client, "quick", recent(), key="from-the-secret-file-" + "s" * 20)[0] == 200


def test_bearer_scheme_is_case_insensitive(client: Client) -> None:
    assert call(client, "quick", recent(), auth=f"bearer {KEY}")[0] == 200


def test_the_key_is_compared_with_compare_digest_on_bytes(client: Client) -> None:
    """Observe the real calls (a profiler, not a mock): compare_digest gets two bytes."""
    seen: list[Any] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and arg is hmac.compare_digest:
            seen.append(frame.f_locals.copy())

    sys.setprofile(profile)
    try:
        status = call(client, "quick", recent(), key="wrong-" + "w" * 40)[0]
    finally:
        sys.setprofile(None)
    assert status == 401
    assert len(seen) == 1
    assert seen[0]["key"] == KEY.encode()


# --- one strip rule for the configured key and the presented one ------------------------------

STRIP_KEY = "stripped-key-" + "s" * 32


def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any, content: str) -> None:
    """The key comes from the secret file ``cron_api_key`` holding ``content``."""
    del settings.SWARMKIT_CRON_API_KEY
    (tmp_path / "cron_api_key").write_text(content)
    monkeypatch.setenv("SWARMKIT_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("CRON_API_KEY", raising=False)
    monkeypatch.delenv("CRON_API_KEY_FILE", raising=False)


def test_the_strip_rule_is_blanks_and_line_breaks() -> None:
    assert CRON_KEY_STRIP == " \t\r\n"


@pytest.mark.parametrize("stored", ["", " ", "\n", " \n", "\r\n", " \r\n", "\t \r\n\n"])
@pytest.mark.parametrize("presented", ["", " ", "\t", "  \t "])
def test_a_secret_file_key_with_trailing_blanks_matches(
    client: Client,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stored: str,
    presented: str,
) -> None:
    """Before, the secret lost only its "\\r\\n" and the header every blank: "key \\n" never matched."""
    key_file(tmp_path, monkeypatch, settings, STRIP_KEY + stored)
    auth = f"Bearer {presented}{STRIP_KEY}{presented}"
    assert call(client, "quick", recent(), auth=auth)[0] == 200


@pytest.mark.parametrize("setting", [f" {STRIP_KEY}", f"{STRIP_KEY} \t", f"\r\n{STRIP_KEY}\n"])
def test_a_key_setting_is_stripped_by_the_same_rule(
    client: Client, settings: Any, setting: str
) -> None:
    settings.SWARMKIT_CRON_API_KEY = setting
    assert call(client, "quick", recent(), key=STRIP_KEY)[0] == 200
    assert call(client, "quick", recent(1), key=f" {STRIP_KEY}\t")[0] == 200


@pytest.mark.parametrize("other", ["\x0b", "\x0c", "\xa0", "\u2003", "\x00"])
def test_nothing_else_is_stripped_on_either_side(
    client: Client, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    """Other white space (vertical tab, no-break space ...) is part of the key on both sides."""
    key_file(tmp_path, monkeypatch, settings, STRIP_KEY + other + "\n")
    assert call(client, "quick", recent(), key=STRIP_KEY)[0] == 401
    settings.SWARMKIT_CRON_API_KEY = STRIP_KEY
    assert call(client, "quick", recent(), auth=f"Bearer {STRIP_KEY}{other}")[0] == 401


def test_both_sides_reach_compare_digest_stripped(
    client: Client, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file(tmp_path, monkeypatch, settings, STRIP_KEY + " \r\n")
    seen: list[tuple[Any, ...]] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and arg is hmac.compare_digest:
            seen.append((frame.f_locals["presented"], frame.f_locals["key"]))

    sys.setprofile(profile)
    try:
        status = call(client, "quick", recent(), auth=f"Bearer \t{STRIP_KEY} ")[0]
    finally:
        sys.setprofile(None)
    assert status == 200
    assert seen == [(STRIP_KEY.encode(), STRIP_KEY.encode())]


def test_a_key_of_blanks_only_is_no_key(client: Client, settings: Any) -> None:
    settings.SWARMKIT_CRON_API_KEY = " \t\r\n"
    assert call(client, "quick", recent(), auth="Bearer  ")[0] == 401
    assert call(client, "quick", recent(), auth="Bearer \t")[0] == 401


# --- what is refused before a run ------------------------------------------------------------


def test_404_unknown_job(client: Client) -> None:
    status, body, _ = call(client, "no-such-job", recent())
    assert status == 404
    assert "no-such-job" in body["error"]


@pytest.mark.parametrize(
    "slot",
    [
        "2026-01-01T00:05:00",
        "2026-01-01T00:05:00%2B00:00",
        "2026-01-01T01:05:00%2B01:00",
        "2026-01-01 00:05:00Z",
        "2026-01-01",
        "2026-02-30T00:05:00Z",
        "yesterday",
        "",
    ],
)
def test_400_malformed_or_not_utc_z(client: Client, slot: str) -> None:
    status, body, _ = call(client, "quick", slot)
    assert status == 400
    assert "slot" in body["error"]
    assert not CronRun.objects.exists()


def test_400_not_on_the_schedule(client: Client) -> None:
    status, body, _ = call(client, "every_five_minutes", "2026-01-01T00:03:00Z")
    assert status == 400
    assert "not on the schedule" in body["error"]
    assert call(client, "quick", "2026-01-01T00:03:00.500000Z")[0] == 400


def test_400_more_than_60s_ahead(client: Client) -> None:
    status, body, _ = call(client, "quick", recent(-120))
    assert status == 400
    assert "future" in body["error"]
    # A scheduler a few seconds ahead of this replica is still served.
    assert call(client, "quick", recent(-3))[0] == 200


def test_400_for_a_job_with_an_invalid_schedule(client: Client, registry: None) -> None:
    cron_job("61 * * * *")(lambda: None)
    status, body, _ = call(client, "<lambda>", None)
    assert status == 400
    assert "misconfigured" in body["error"]


@pytest.mark.parametrize(
    "slot",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:01Z",
        "0001-01-01T00:00:00.000001Z",
        "1970-01-01T00:00:00Z",
        "2000-01-01T00:00:00Z",
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_400_far_in_the_past(client: Client, settings: Any, slot: str, zone: str) -> None:
    """Before, 0001-01-01 overflowed datetime arithmetic: a 500 and a traceback."""
    settings.SWARMKIT_CRON_TZ = zone
    for job in ("quick", "every_five_minutes"):
        status, body, _ = call(client, job, slot)
        assert status == 400, body
        assert body["error"] == (
            f"slot {slot} is more than {MAX_PAST.days} days in the past "
            "(send a slot of the last ten years, or no slot for a manual run)"
        )
    assert not CronRun.objects.exists()


@pytest.mark.parametrize(
    "slot", ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999Z", "3000-01-01T00:00:00Z"]
)
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati"])
def test_400_far_in_the_future(client: Client, settings: Any, slot: str, zone: str) -> None:
    settings.SWARMKIT_CRON_TZ = zone
    status, body, _ = call(client, "quick", slot)
    assert status == 400
    assert body["error"] == f"slot {slot} is more than 60 s in the future"
    assert not CronRun.objects.exists()


@pytest.mark.parametrize("slot", ["0000-12-31T23:59:59Z", "10000-01-01T00:00:00Z"])
def test_400_outside_what_a_datetime_holds(client: Client, slot: str) -> None:
    status, body, _ = call(client, "quick", slot)
    assert status == 400 and "slot" in body["error"]


def test_the_past_bound_is_ten_years_from_this_replicas_clock() -> None:
    job = get_job("every_five_minutes")
    assert job is not None
    now = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
    check_slot(job, now - MAX_PAST, now)  # on the schedule, exactly at the bound
    with pytest.raises(SlotError, match="days in the past") as caught:
        check_slot(job, now - MAX_PAST - dt.timedelta(minutes=5), now)
    assert isinstance(caught.value, CronError) and isinstance(caught.value, ValueError)
    assert dt.timedelta(days=3650) <= MAX_PAST  # more than Feb 29's eight-year gap (2096-2104)
    # The schedule maths still work at the bound, in the extreme time zones too.
    assert job.is_slot(now - MAX_PAST)


def test_400_for_a_schedule_that_never_fires(client: Client, registry: None) -> None:
    """``0 0 30 2 *`` passes croniter's field check; before, every slot lookup raised: a 500."""
    cron_job("0 0 30 2 *", name="never")(lambda: None)
    job = get_job("never")
    assert job is not None and job.error is not None and "never fires" in job.error
    for slot in ("2026-02-28T00:00:00Z", None):
        status, body, _ = call(client, "never", slot)
        assert status == 400 and "never fires" in body["error"]
    assert not CronRun.objects.exists()


# --- runs -------------------------------------------------------------------------------------


def test_200_runs_the_slot_once_then_409_done(client: Client) -> None:
    slot = recent()
    status, body, _ = call(client, "quick", slot)
    assert status == 200
    assert set(body) == BODY_KEYS
    assert body["job"] == "quick" and body["slot"] == z(slot)
    assert body["status"] == "succeeded" and isinstance(body["duration_ms"], int)
    run = CronRun.objects.get()
    assert (run.job, run.slot, str(run.run_id), run.status) == (
        "quick",
        slot,
        body["run_id"],
        "succeeded",
    )
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.manual is False and run.error == ""
    effect = JobEffect.objects.get()
    assert (effect.slot, effect.token) == (slot, run.token)

    for _ in range(3):
        status, body, _ = call(client, "quick", slot)
        assert status == 409
        assert body == {"job": "quick", "slot": z(slot), "reason": "done", "status": "succeeded"}
    assert JobEffect.objects.count() == 1 and CronRun.objects.count() == 1
    # The lease is free again: the next slot runs.
    assert call(client, "quick", slot + dt.timedelta(seconds=1))[0] == 200


def test_409_running_while_the_lease_is_held(client: Client) -> None:
    token = lease.acquire("quick", 30, "other-replica:1")
    assert token is not None
    slot = recent()
    status, body, _ = call(client, "quick", slot)
    assert status == 409
    assert body == {"job": "quick", "slot": z(slot), "reason": "running"}
    assert call(client, "quick", None)[0] == 409  # a manual run waits for the lease too
    assert not CronRun.objects.exists() and not JobEffect.objects.exists()
    assert lease.release("quick", token)
    assert call(client, "quick", recent())[0] == 200


def test_500_when_the_job_raises(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    slot = recent()
    with caplog.at_level(logging.ERROR, logger="swarmkit.cron"):
        status, body, response = call(client, "broken", slot)
    assert status == 500
    assert response["Content-Type"] == "application/json"
    assert set(body) == BODY_KEYS and body["status"] == "failed"
    assert "Traceback" not in response.content.decode() and "report server" not in json.dumps(body)
    (record,) = [r for r in caplog.records if r.name == "swarmkit.cron" and r.exc_info]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    run = CronRun.objects.get()
    assert run.status == "failed"
    assert run.error.startswith("RuntimeError: the report server said no xxx")
    assert len(run.error) <= 300
    # Failed is done: never re-run.
    assert call(client, "broken", slot)[1] == {
        "job": "broken",
        "slot": z(slot),
        "reason": "done",
        "status": "failed",
    }
    assert JobEffect.objects.count() == 1


def test_202_background_job(client: Client) -> None:
    slot = recent()
    status, body, _ = call(client, "in_background", slot)
    assert status == 202
    assert set(body) == BODY_KEYS
    assert (body["status"], body["duration_ms"]) == ("running", None)
    assert wait_for_background(30)
    run = CronRun.objects.get()
    assert run.status == "succeeded" and run.duration_ms is not None
    assert str(run.run_id) == body["run_id"]
    assert JobEffect.objects.get().token == run.token
    assert call(client, "in_background", slot)[1]["reason"] == "done"
    assert CronLease.objects.get(job="in_background").expires_at < dt.datetime.now(dt.UTC)


def test_a_running_background_job_holds_its_lease(client: Client, registry: None) -> None:
    # The job body touches no table: an in-memory SQLite shared between
    # threads refuses concurrent writers outright (PostgreSQL tests cover that).
    started, finish = threading.Event(), threading.Event()

    @cron_job("* * * * * *", name="gated", background=True)
    def gated(run: cron.RunContext) -> None:
        started.set()
        finish.wait(30)

    slot = recent()
    assert call(client, "gated", slot)[0] == 202
    assert started.wait(30)
    assert call(client, "gated", slot)[1]["reason"] == "running"
    assert call(client, "gated", slot + dt.timedelta(seconds=1))[1]["reason"] == "running"
    assert CronRun.objects.get().status == "running"
    finish.set()
    assert wait_for_background(30)
    assert CronRun.objects.get().status == "succeeded"
    assert call(client, "gated", slot)[1] == {
        "job": "gated",
        "slot": z(slot),
        "reason": "done",
        "status": "succeeded",
    }


def test_manual_run_without_a_slot(client: Client) -> None:
    first = call(client, "quick", None)
    second = call(client, "quick", None)
    assert first[0] == second[0] == 200
    runs = list(CronRun.objects.order_by("token"))
    assert [r.manual for r in runs] == [True, True]
    assert runs[0].token < runs[1].token
    assert abs(runs[0].slot - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=60)
    assert JobEffect.objects.count() == 2
    # A manual run never takes a scheduled slot, and the reverse.
    slot = recent()
    assert call(client, "quick", slot)[0] == 200


def test_fencing_tokens_increase_with_every_acquisition(client: Client) -> None:
    base = recent(30)
    for n in range(5):
        assert call(client, "quick", base + dt.timedelta(seconds=n))[0] == 200
    call(client, "quick", base)  # refused as done: takes no token
    tokens = list(CronRun.objects.order_by("slot").values_list("token", flat=True))
    assert tokens == sorted(tokens) and len(set(tokens)) == 5
    assert list(JobEffect.objects.order_by("slot").values_list("token", flat=True)) == tokens
    assert CronLease.objects.get(job="quick").token == tokens[-1]


def test_a_dead_holders_slot_is_lost_and_the_next_slot_runs(client: Client) -> None:
    """A holder that took the lease and recorded its run, then stopped heartbeating."""
    dead_slot = recent(10)
    token = lease.acquire("quick", 0.3, "dead-replica:1")
    assert token is not None
    CronRun.objects.create(
        job="quick",
        slot=dead_slot,
        token=token,
        holder="dead-replica:1",
        started_at=dt.datetime.now(dt.UTC),
    )
    assert call(client, "quick", dead_slot)[1]["reason"] == "running"
    time.sleep(0.5)  # the lease expires: nobody renews it
    status, body, _ = call(client, "quick", dead_slot)
    assert (status, body["reason"], body["status"]) == (409, "done", "lost")
    dead = CronRun.objects.get(slot=dead_slot)
    assert dead.status == "lost" and dead.finished_at is not None and "lost" in dead.error
    assert not JobEffect.objects.filter(slot=dead_slot).exists()  # never re-run

    status, body, _ = call(client, "quick", dead_slot + dt.timedelta(seconds=1))
    assert status == 200
    assert CronRun.objects.get(run_id=body["run_id"]).token > token


def test_a_later_slot_marks_a_dead_holders_run_lost(client: Client) -> None:
    dead_slot = recent(10)
    token = lease.acquire("quick", 0.3, "dead-replica:1")
    assert token is not None
    CronRun.objects.create(
        job="quick", slot=dead_slot, token=token, holder="x:1", started_at=dt.datetime.now(dt.UTC)
    )
    time.sleep(0.5)
    assert call(client, "quick", dead_slot + dt.timedelta(seconds=5))[0] == 200
    assert CronRun.objects.get(slot=dead_slot).status == "lost"


def test_works_under_atomic_requests(settings: Any) -> None:
    """Without ProbeMiddleware the view goes through the handler, which honours its
    non_atomic_requests: the lease must commit before the job runs."""
    settings.MIDDLEWARE = settings.MIDDLEWARE[1:]
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        secure = Client(HTTP_HOST="app.example.com")
        assert call(secure, "quick", recent(), secure=True)[0] == 200
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = False
    assert CronRun.objects.get().status == "succeeded"


def test_without_probe_middleware_the_security_settings_apply(settings: Any) -> None:
    settings.MIDDLEWARE = settings.MIDDLEWARE[1:]
    assert call(Client(HTTP_HOST="app.example.com"), "quick", recent())[0] == 301
    assert not CronRun.objects.exists()


def test_run_slot_refuses_to_start_inside_a_transaction() -> None:
    job = get_job("quick")
    assert job is not None
    with transaction.atomic(), pytest.raises(CronError, match="inside a transaction"):
        run_slot(job, recent())


def test_an_interrupted_run_is_recorded_lost_and_frees_the_lease(registry: None) -> None:
    @cron_job("* * * * * *", name="interrupted")
    def interrupted() -> None:
        raise SystemExit(1)  # what gunicorn's worker timeout raises in a sync worker

    job = get_job("interrupted")
    assert job is not None
    with pytest.raises(SystemExit):
        run_slot(job, recent())
    run = CronRun.objects.get()
    assert run.status == "lost" and "interrupted" in run.error
    assert lease.acquire("interrupted", 30, "next:1") == run.token + 1


# --- the lease and its heartbeat ------------------------------------------------------------


def test_heartbeat_keeps_the_lease_and_reports_a_takeover() -> None:
    token = lease.acquire("hb", 0.6, "me:1")
    assert token is not None
    lost: list[bool] = []
    beat = lease.Heartbeat("hb", token, 0.6, lambda: lost.append(True))
    assert beat.interval == 0.5
    beat.start()
    try:
        # Twice the TTL, and between two beats (an in-memory SQLite shared by
        # threads refuses a second writer rather than waiting).
        time.sleep(1.25)
        assert lease.acquire("hb", 0.6, "other:2") is None
        # Simulate a stall long enough for another holder to take over.
        assert lease.release("hb", token)
        newer = lease.acquire("hb", 30, "other:2")
        assert newer == token + 1
        deadline = time.monotonic() + 10
        while not lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lost == [True]
    finally:
        beat.stop()
    # The old holder can neither renew nor release the new holder's lease.
    assert not lease.renew("hb", token, 30)
    assert not lease.release("hb", token)
    assert CronLease.objects.get(job="hb").holder == "other:2"


def test_a_lease_expires_without_its_heartbeat() -> None:
    token = lease.acquire("hb", 0.3, "me:1")
    assert token is not None and lease.acquire("hb", 0.3, "other:2") is None
    time.sleep(0.5)
    assert lease.acquire("hb", 0.3, "other:2") == token + 1


# --- the admin ----------------------------------------------------------------------------------


def test_admin_shows_runs_and_leases_read_only(client: Client) -> None:
    from django.contrib.auth.models import User

    assert call(client, "quick", recent())[0] == 200
    assert call(client, "broken", recent())[0] == 500
    admin = Client(HTTP_HOST="app.example.com")
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    runs = admin.get("/admin/swarmkit/cronrun/?status__exact=failed", secure=True)
    assert runs.status_code == 200
    assert [r.job for r in runs.context["cl"].result_list] == ["broken"]
    assert "RuntimeError: the report server said no" in runs.content.decode()
    assert admin.get("/admin/swarmkit/cronrun/add/", secure=True).status_code == 403
    run = CronRun.objects.get(job="quick")
    detail = admin.get(f"/admin/swarmkit/cronrun/{run.pk}/change/", secure=True)
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert admin.post(f"/admin/swarmkit/cronrun/{run.pk}/delete/", secure=True).status_code == 403
    leases = admin.get("/admin/swarmkit/cronlease/", secure=True)
    assert leases.status_code == 200 and "quick" in leases.content.decode()


# --- the canary: the key in no answer and no log -------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [f"Bearer {CANARY}", f"Bearer {CANARY}x", f"Basic {CANARY}", f"Bearer {CANARY}\x0b", CANARY],
)
def test_no_answer_or_log_shows_the_key(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture, auth: str
) -> None:
    settings.SWARMKIT_CRON_API_KEY = f"{CANARY}-{'k' * 32}"
    with caplog.at_level(logging.DEBUG):
        status, _, response = call(client, "quick", recent(), auth=auth)
    assert status == 401
    assert_hidden(records=caplog.records, texts=[response.content.decode(), str(response.headers)])


@pytest.mark.parametrize("content", [CANARY.encode() * 40_000, CANARY.encode() + b"\xff"])
def test_an_unreadable_key_secret_is_one_log_line_without_the_key(
    client: Client,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    content: bytes,
) -> None:
    del settings.SWARMKIT_CRON_API_KEY
    (tmp_path / "key").write_bytes(content)
    monkeypatch.setenv("CRON_API_KEY_FILE", str(tmp_path / "key"))
    with caplog.at_level(logging.DEBUG, logger="swarmkit.cron"):
        status, _, response = call(client, "quick", recent(), key=CANARY)
    assert status == 401
    (record,) = [r for r in caplog.records if "cron API key unreadable" in r.getMessage()]
    assert record.exc_info is None and "secret 'cron_api_key'" in record.getMessage()
    assert_hidden(records=caplog.records, texts=[response.content.decode()])
