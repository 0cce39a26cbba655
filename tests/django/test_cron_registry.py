"""The ``@cron_job`` registry and schedule maths (no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import CheckMessage, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from swarmkit.django import cron
from swarmkit.django.cron import RunContext, cron_job, get_job, get_jobs, parse_schedule
from swarmkit.exceptions import CronError, CronScheduleError, SwarmkitError
from tests.django.canary import CANARY, assert_hidden

UTC = dt.UTC


def test_the_test_projects_jobs_are_discovered_at_start_up() -> None:
    jobs = get_jobs()
    assert {"quick", "slow", "broken", "in_background", "every_five_minutes"} <= set(jobs)
    assert jobs["broken"].func.__name__ == "fails"
    assert jobs["in_background"].background is True
    assert jobs["slow"].lease == 2


def test_decorator_defaults_and_returns_the_function(registry: None) -> None:
    def tidy_up() -> str:
        return "tidied"

    decorated = cron_job("0 3 * * *")(tidy_up)
    assert decorated is tidy_up
    job = get_job("tidy_up")
    assert job is not None
    assert (job.schedule, job.lease, job.background, job.error) == ("0 3 * * *", 30, False, None)


def test_name_argument_and_normalised_schedule(registry: None) -> None:
    @cron_job("  */5   *  * * * ", lease=12.5, name="digest", background=True)
    def send() -> None:
        pass

    job = get_job("digest")
    assert job is not None
    assert get_job("send") is None
    assert (job.schedule, job.lease, job.background) == ("*/5 * * * *", 12.5, True)


@pytest.mark.parametrize(
    "expression",
    ["* * * *", "* * * * * * *", "61 * * * *", "* 24 * * *", "* * * * * 60", "every minute", ""],
)
def test_invalid_schedules_raise_a_swarmkit_error(expression: str) -> None:
    with pytest.raises(CronScheduleError) as caught:
        parse_schedule(expression)
    assert isinstance(caught.value, CronError)
    assert isinstance(caught.value, SwarmkitError)
    assert caught.value.hint


def test_an_invalid_schedule_is_kept_with_its_error(registry: None) -> None:
    @cron_job("61 * * * *")
    def bad() -> None:
        pass

    job = get_job("bad")
    assert job is not None
    assert job.error is not None and "61 * * * *" in job.error
    with pytest.raises(CronScheduleError):
        job.next_slot(dt.datetime(2026, 1, 1, tzinfo=UTC))


def test_five_field_schedule_slots() -> None:
    job = get_job("every_five_minutes")
    assert job is not None
    at = dt.datetime(2026, 1, 1, 0, 7, 30, tzinfo=UTC)
    assert job.latest_slot(at) == dt.datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert job.next_slot(at) == dt.datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    on = dt.datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert job.latest_slot(on) == on
    assert job.next_slot(on) == dt.datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    assert job.is_slot(on)
    assert not job.is_slot(on + dt.timedelta(minutes=1))
    assert not job.is_slot(on + dt.timedelta(microseconds=1))


def test_six_field_schedule_has_seconds_last(registry: None) -> None:
    @cron_job("0 * * * * */20")
    def thrice_a_minute() -> None:
        pass

    job = get_job("thrice_a_minute")
    assert job is not None
    at = dt.datetime(2026, 1, 1, 0, 0, 25, tzinfo=UTC)
    assert job.latest_slot(at) == dt.datetime(2026, 1, 1, 0, 0, 20, tzinfo=UTC)
    assert job.next_slot(at) == dt.datetime(2026, 1, 1, 0, 0, 40, tzinfo=UTC)
    assert job.is_slot(dt.datetime(2026, 1, 1, 0, 0, 40, tzinfo=UTC))
    assert not job.is_slot(dt.datetime(2026, 1, 1, 0, 1, 40, tzinfo=UTC))


def test_schedules_follow_swarmkit_cron_tz(registry: None) -> None:
    @cron_job("0 9 * * *")
    def morning() -> None:
        pass

    job = get_job("morning")
    assert job is not None
    summer = dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert job.latest_slot(summer) == dt.datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    with override_settings(SWARMKIT_CRON_TZ="Europe/Lisbon"):
        # 09:00 in Lisbon is 08:00 UTC in summer (WEST), 09:00 UTC in winter.
        assert job.latest_slot(summer) == dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
        winter = dt.datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
        assert job.latest_slot(winter) == dt.datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
        assert job.is_slot(dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
        assert job.latest_slot(summer).tzinfo == UTC


def test_duplicate_names_are_recorded_not_overwritten_silently(registry: None) -> None:
    def one() -> None:
        pass

    def two() -> None:
        pass

    cron_job("* * * * *", name="same")(one)
    cron_job("* * * * *", name="same")(one)  # the same function again (a re-import) is fine
    assert not [d for d in cron.duplicate_job_names() if d[0] == "same"]
    cron_job("* * * * *", name="same")(two)
    (found,) = [d for d in cron.duplicate_job_names() if d[0] == "same"]
    assert found[1].endswith("one") and found[2].endswith("two")


def test_run_passes_the_context_only_to_functions_that_take_it(registry: None) -> None:
    seen: list[object] = []

    @cron_job("* * * * *")
    def with_context(run: RunContext) -> None:
        seen.append(run)

    @cron_job("* * * * *")
    def without() -> None:
        seen.append("no argument")

    import uuid

    context = RunContext(
        job="with_context", slot=dt.datetime(2026, 1, 1, tzinfo=UTC), run_id=uuid.uuid4(), token=7
    )
    get_jobs()["with_context"].run(context)
    get_jobs()["without"].run(context)
    assert seen == [context, "no argument"]
    assert not context.lease_lost.is_set()


# --- system checks ------------------------------------------------------------------------------

CRON_IDS = {
    f"swarmkit.{i}" for i in ("E001", "E002", "E007", "E008", "E009", "E010", "W001", "W002")
}


def cron_messages() -> list[CheckMessage]:
    return [m for m in run_checks() if m.id in CRON_IDS]


def ids() -> list[str]:
    return sorted(str(m.id) for m in cron_messages())


def test_the_test_project_passes_its_checks() -> None:
    assert cron_messages() == []
    call_command("check", fail_level="WARNING")


def test_e001_invalid_schedule(registry: None) -> None:
    @cron_job("0 25 * * *")
    def nightly() -> None:
        pass

    (message,) = cron_messages()
    assert message.id == "swarmkit.E001"
    assert "'nightly'" in message.msg and "0 25 * * *" in message.msg
    assert message.hint and "schedule" in message.hint
    with pytest.raises(SystemCheckError, match=r"swarmkit\.E001"):
        call_command("check")


@override_settings(SWARMKIT_CRON_API_KEY=None, DEBUG=False)
def test_e002_jobs_without_a_key_when_debug_is_off() -> None:
    (message,) = cron_messages()
    assert message.id == "swarmkit.E002"
    assert "cron_api_key" in str(message.hint) and "SWARMKIT_CRON_API_KEY" in str(message.hint)
    with override_settings(DEBUG=True):
        assert ids() == []


@override_settings(SWARMKIT_CRON_API_KEY=None, DEBUG=False)
def test_no_e002_without_jobs(registry: None) -> None:
    with cron._lock:
        cron._registry.clear()
    assert ids() == []


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd", 3])
def test_e007_unknown_time_zone(zone: object) -> None:
    with override_settings(SWARMKIT_CRON_TZ=zone):
        (message,) = cron_messages()
    assert message.id == "swarmkit.E007" and "SWARMKIT_CRON_TZ" in message.msg


@pytest.mark.parametrize("zone", ["UTC", "utc", "Europe/Lisbon", "America/New_York"])
def test_known_time_zones(zone: str) -> None:
    with override_settings(SWARMKIT_CRON_TZ=zone):
        assert ids() == []


def test_e008_duplicate_names(registry: None) -> None:
    def a() -> None:
        pass

    def b() -> None:
        pass

    cron_job("* * * * *", name="report")(a)
    cron_job("* * * * *", name="report")(b)
    (message,) = cron_messages()
    assert message.id == "swarmkit.E008" and "'report'" in message.msg
    assert message.msg.endswith(
        f"{a.__module__}.{a.__qualname__} and {b.__module__}.{b.__qualname__}"
    )


@pytest.mark.parametrize("lease", [0, -5, float("nan"), float("inf"), "300", True, None])
def test_e009_lease_not_a_positive_number(registry: None, lease: Any) -> None:
    cron_job("* * * * *", lease=lease, name="leased")(lambda: None)
    (message,) = cron_messages()
    assert message.id == "swarmkit.E009" and "'leased'" in message.msg


@pytest.mark.parametrize(
    "url",
    ["ftp://app/api/cron/", "http://app:8000/api/cron", "app:8000/api/cron/", "http:///x/", 5],
)
def test_e010_cron_url(url: object) -> None:
    with override_settings(SWARMKIT_CRON_URL=url):
        (message,) = cron_messages()
    assert message.id == "swarmkit.E010" and "SWARMKIT_CRON_URL" in message.msg


@pytest.mark.parametrize("url", ["http://app:8000/api/cron/", "https://app.example.com/cron/"])
def test_good_cron_urls(url: str) -> None:
    with override_settings(SWARMKIT_CRON_URL=url):
        assert ids() == []


def test_w001_short_key() -> None:
    with override_settings(SWARMKIT_CRON_API_KEY="s" * 31):
        (message,) = cron_messages()
    assert message.id == "swarmkit.W001" and "31 characters" in message.msg
    assert "s" * 31 not in message.msg + str(message.hint)
    with override_settings(SWARMKIT_CRON_API_KEY="s" * 32):
        assert ids() == []


def test_w002_in_request_job_with_a_lease_longer_than_the_request_timeout(registry: None) -> None:
    cron_job("* * * * *", lease=600, name="long")(lambda: None)
    cron_job("* * * * *", lease=600, name="long_bg", background=True)(lambda: None)
    (message,) = cron_messages()
    assert message.id == "swarmkit.W002" and "'long'" in message.msg
    assert "background=True" in str(message.hint)
    with override_settings(SWARMKIT_CRON_REQUEST_TIMEOUT=900):
        assert ids() == []


def test_e001_a_schedule_that_never_fires(registry: None) -> None:
    cron_job("0 0 30 2 *", name="never")(lambda: None)
    (message,) = cron_messages()
    assert message.id == "swarmkit.E001" and "never fires" in message.msg


URLS = [
    "http://app:8000/api/cron/",
    "https://app.example.com/cron/",
    "http://[::1]:8000/api/cron/",
    "http://app:8000/api/cron",
    "ftp://app/api/cron/",
    "http:///api/cron/",
    "http://user:pw@app:8000/api/cron/",
    "http://app:8000/api/cron/?x=1/",
    "http://app:8000/api/cron/#/",
    "http://app:99999/api/cron/",
    "http://app:port/api/cron/",
    "http://[::1/api/cron/",
    5,
    b"http://app:8000/api/cron/",
]


@pytest.mark.parametrize("url", URLS, ids=repr)
def test_e010_is_exactly_the_schedulers_url_check(url: object) -> None:
    """Before, E010 had its own rule: credentials, a query or a bad port passed it."""
    from swarmkit.django.scheduler import check_url

    with override_settings(SWARMKIT_CRON_URL=url):
        found = cron_messages()
    problem = check_url(url)
    if problem is None:
        assert found == []
    else:
        (message,) = found
        assert message.id == "swarmkit.E010" and message.msg == f"SWARMKIT_CRON_URL: {problem}"


def test_e010_never_quotes_credentials() -> None:
    for url in (f"http://u:{CANARY}@app:8000/api/cron/", f"http://u:{CANARY}@[::1/api/cron/"):
        with override_settings(SWARMKIT_CRON_URL=url):
            (message,) = cron_messages()
        assert message.id == "swarmkit.E010"
        assert_hidden(texts=[message.msg, str(message.hint), str(message)])


@pytest.mark.parametrize(
    "key", [f"{CANARY}-{'k' * 32}\x01", f"{CANARY}-{'k' * 32}é", f"{CANARY}\n{'k' * 32}"]
)
def test_e002_a_key_no_http_header_can_carry(key: str) -> None:
    with override_settings(SWARMKIT_CRON_API_KEY=key):
        messages = cron_messages()
    assert [m.id for m in messages] == ["swarmkit.E002"]
    assert "not printable ASCII" in messages[0].msg
    assert_hidden(texts=[str(m) for m in messages])


def test_no_e002_for_blanks_around_a_good_key() -> None:
    with override_settings(SWARMKIT_CRON_API_KEY=" \t" + "k" * 32 + " \r\n"):
        assert ids() == []


@pytest.mark.parametrize("path", ["/dev/zero", "/nonexistent/cron_api_key"])
def test_e002_an_unreadable_key_secret(
    settings: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    del settings.SWARMKIT_CRON_API_KEY
    monkeypatch.setenv("CRON_API_KEY_FILE", path)
    (message,) = cron_messages()
    assert message.id == "swarmkit.E002"
    assert message.msg.startswith("the cron API key cannot be read: secret 'cron_api_key': ")
    assert path in message.msg


def test_e002_a_canary_key_file_that_is_too_big(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    del settings.SWARMKIT_CRON_API_KEY
    big = tmp_path / "cron_api_key"
    big.write_text(CANARY * 40_000)
    monkeypatch.setenv("CRON_API_KEY_FILE", str(big))
    (message,) = cron_messages()
    assert message.id == "swarmkit.E002" and "larger than 500 KiB" in message.msg
    assert_hidden(texts=[str(message)])
