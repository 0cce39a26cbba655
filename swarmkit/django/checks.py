"""System checks (``manage.py check``), ids ``swarmkit.E0xx`` and ``swarmkit.W0xx``.

=============== ==============================================================
swarmkit.E001   a cron job's schedule is not a valid cron expression
swarmkit.E002   cron jobs exist, DEBUG is off and no cron API key is set; or
                the key cannot be read, or is not printable ASCII
swarmkit.E003   ``ProbeMiddleware`` is not in ``MIDDLEWARE``
swarmkit.E004   ``ProbeMiddleware`` is not the first middleware
swarmkit.E005   a probe path setting is not an absolute path ending in ``/``,
                or alive and ready share a path
swarmkit.E006   ``SWARMKIT_HEALTH_TTL`` is not a number >= 0
swarmkit.E007   ``SWARMKIT_CRON_TZ`` is not a known time zone
swarmkit.E008   two cron jobs have the same name
swarmkit.E009   a cron job's lease is not a positive number of seconds
swarmkit.E010   ``SWARMKIT_CRON_URL`` is refused by the scheduler's
                :func:`~swarmkit.django.cron_answers.check_url`: not http(s),
                no host, credentials in it, or not ending in ``/``
swarmkit.W001   the cron API key is shorter than 32 characters
swarmkit.W002   a job that runs in the request has a lease longer than
                ``SWARMKIT_CRON_REQUEST_TIMEOUT``
=============== ==============================================================
"""

from __future__ import annotations

import math
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

# Every setting through the settings object (raw: a check must see a wrong
# type, not the property's conversion of it), never django.conf directly.
from swarmkit.django.conf import cron_key_problem, swarmkit_settings

__all__ = ["check_middleware", "check_probe_settings"]

PROBE_MIDDLEWARE = "swarmkit.django.middleware.ProbeMiddleware"


@register(Tags.compatibility)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E003/E004: the probes must answer before any other middleware runs."""
    middleware = list(swarmkit_settings.django("MIDDLEWARE") or [])
    if PROBE_MIDDLEWARE not in middleware:
        return [
            Error(
                f"{PROBE_MIDDLEWARE} is not in MIDDLEWARE",
                hint=(
                    "add it as the first entry of MIDDLEWARE; without it the Swarm "
                    "healthcheck has no endpoint to call"
                ),
                id="swarmkit.E003",
            )
        ]
    if middleware[0] != PROBE_MIDDLEWARE:
        return [
            Error(
                f"{PROBE_MIDDLEWARE} is not the first entry of MIDDLEWARE "
                f"(it comes after {middleware[0]})",
                hint=(
                    "move it first: probes arrive over plain HTTP with the container's "
                    "address as Host, which host validation and SECURE_SSL_REDIRECT refuse"
                ),
                id="swarmkit.E004",
            )
        ]
    return []


def _path_error(setting: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.startswith("/") or not value.endswith("/"):
        return f"SWARMKIT_{setting} = {value!r} is not a path that starts and ends with '/'"
    return None


@register(Tags.compatibility)
def check_probe_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E005/E006: probe paths and the readiness TTL."""
    errors: list[CheckMessage] = []
    alive = swarmkit_settings.raw("ALIVE_PATH")
    ready = swarmkit_settings.raw("READY_PATH")
    for setting, value in (("ALIVE_PATH", alive), ("READY_PATH", ready)):
        problem = _path_error(setting, value)
        if problem:
            errors.append(Error(problem, hint="e.g. '/api/alive/'", id="swarmkit.E005"))
    if not errors and alive == ready:
        errors.append(
            Error(
                f"SWARMKIT_ALIVE_PATH and SWARMKIT_READY_PATH are both {alive!r}",
                hint="give the two probes different paths",
                id="swarmkit.E005",
            )
        )
    ttl = swarmkit_settings.raw("HEALTH_TTL")
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < 0:
        errors.append(
            Error(
                f"SWARMKIT_HEALTH_TTL = {ttl!r} is not a number of seconds >= 0",
                hint="e.g. 2 (seconds a readiness result is reused)",
                id="swarmkit.E006",
            )
        )
    return errors


# Cron checks (E001, E002, E007-E010, W001, W002) are registered below.

__all__ += ["check_cron_jobs", "check_cron_settings"]

_MIN_KEY_LENGTH = 32


def _is_positive_seconds(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 < value < math.inf


@register(Tags.compatibility)
def check_cron_jobs(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E001/E008/E009/W002: each registered job's schedule, name and lease."""
    from django.core.checks import Warning as CheckWarning

    from swarmkit.django.cron import duplicate_job_names, get_jobs

    messages: list[CheckMessage] = []
    timeout: Any = swarmkit_settings.raw("CRON_REQUEST_TIMEOUT")
    for name, job in sorted(get_jobs().items()):
        where = f"{job.func.__module__}.{job.func.__qualname__}"
        if job.error is not None:
            messages.append(
                Error(
                    f"cron job {name!r} ({where}): {job.error}",
                    hint="fix the schedule passed to @cron_job; the endpoint refuses this job",
                    obj=where,
                    id="swarmkit.E001",
                )
            )
        if job.lease_error is not None:
            messages.append(
                Error(
                    f"cron job {name!r} ({where}): {job.lease_error}",
                    hint="pass e.g. lease=30 to @cron_job: how long a dead holder may "
                    "block the job",
                    obj=where,
                    id="swarmkit.E009",
                )
            )
        elif not job.background and _is_positive_seconds(timeout) and job.lease > timeout:
            messages.append(
                CheckWarning(
                    f"cron job {name!r} ({where}) runs in the request but its lease "
                    f"({job.lease:g} s) is longer than SWARMKIT_CRON_REQUEST_TIMEOUT "
                    f"({timeout:g} s)",
                    hint="pass background=True to @cron_job for jobs that outlast the HTTP "
                    "timeouts, or lower the lease (and raise the timeouts of gunicorn, "
                    "nginx and the scheduler together with SWARMKIT_CRON_REQUEST_TIMEOUT)",
                    obj=where,
                    id="swarmkit.W002",
                )
            )
    for name, first, second in duplicate_job_names():
        messages.append(
            Error(
                f"two cron jobs are named {name!r}: {first} and {second}",
                hint="give one of them another name with @cron_job(..., name=...)",
                obj=second,
                id="swarmkit.E008",
            )
        )
    return messages


@register(Tags.compatibility)
def check_cron_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E002/E007/E010/W001: the API key, the time zone and the scheduler's URL."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from django.core.checks import Warning as CheckWarning

    from swarmkit.django.cron import get_jobs
    from swarmkit.django.cron_answers import check_url
    from swarmkit.django.secrets import SecretError

    messages: list[CheckMessage] = []
    try:
        key = swarmkit_settings.CRON_API_KEY
    except SecretError as exc:
        key = None
        messages.append(
            Error(
                f"the cron API key cannot be read: {exc}",
                hint="fix SWARMKIT_CRON_API_KEY or the secret 'cron_api_key'",
                id="swarmkit.E002",
            )
        )
    problem = cron_key_problem(key) if key else None
    if problem:
        messages.append(
            Error(
                problem,
                hint="make a new key of letters and digits, e.g. `openssl rand -hex 32`",
                id="swarmkit.E002",
            )
        )
    if not messages and not key and get_jobs() and not swarmkit_settings.django("DEBUG"):
        messages.append(
            Error(
                f"{len(get_jobs())} cron job(s) are defined but no cron API key is set, "
                "so every call of the cron endpoint is refused",
                hint="create the Docker secret 'cron_api_key' (32+ random characters, e.g. "
                "`openssl rand -hex 32`) or set SWARMKIT_CRON_API_KEY",
                id="swarmkit.E002",
            )
        )
    if key and len(key) < _MIN_KEY_LENGTH:
        messages.append(
            CheckWarning(
                f"the cron API key has {len(key)} characters, fewer than {_MIN_KEY_LENGTH}",
                hint="use a longer random key, e.g. `openssl rand -hex 32`",
                id="swarmkit.W001",
            )
        )
    zone: Any = swarmkit_settings.raw("CRON_TZ")
    try:
        if not isinstance(zone, str):
            raise ValueError(zone)
        if zone.upper() != "UTC":
            ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        messages.append(
            Error(
                f"SWARMKIT_CRON_TZ = {zone!r} is not a known time zone",
                hint="use an IANA name such as 'UTC' or 'Europe/Lisbon' (schedules run in "
                "UTC until it is fixed)",
                id="swarmkit.E007",
            )
        )
    url: Any = swarmkit_settings.raw("CRON_URL")
    # The scheduler's own rule (check_url), so the check and the command agree.
    problem = None if url is None else check_url(url)
    if problem:
        messages.append(
            Error(
                f"SWARMKIT_CRON_URL: {problem}",
                hint="e.g. 'http://app:8000/api/cron/' (the scheduler appends '<job>/')",
                id="swarmkit.E010",
            )
        )
    return messages
