"""System checks (``manage.py check``), ids ``swarmkit.E0xx`` and ``swarmkit.W0xx``.

=============== ==============================================================
swarmkit.E001   a cron job's schedule is not a valid cron expression
swarmkit.E002   cron jobs exist, DEBUG is off and no cron API key is set
swarmkit.E003   ``ProbeMiddleware`` is not in ``MIDDLEWARE``
swarmkit.E004   ``ProbeMiddleware`` is not the first middleware
swarmkit.E005   a probe path setting is not an absolute path ending in ``/``,
                or alive and ready share a path
swarmkit.E006   ``SWARMKIT_HEALTH_TTL`` is not a number >= 0
swarmkit.E007   ``SWARMKIT_CRON_TZ`` is not a known time zone
swarmkit.E008   two cron jobs have the same name
swarmkit.E009   a cron job's lease is not a positive number of seconds
swarmkit.E010   ``SWARMKIT_CRON_URL`` is not an http(s) URL ending in ``/``
swarmkit.W001   the cron API key is shorter than 32 characters
swarmkit.W002   a job that runs in the request has a lease longer than
                ``SWARMKIT_CRON_REQUEST_TIMEOUT``
=============== ==============================================================
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from swarmkit.django.conf import swarmkit_settings

__all__ = ["check_middleware", "check_probe_settings"]

PROBE_MIDDLEWARE = "swarmkit.django.middleware.ProbeMiddleware"


@register(Tags.compatibility)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E003/E004: the probes must answer before any other middleware runs."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
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
    alive = getattr(settings, "SWARMKIT_ALIVE_PATH", swarmkit_settings.ALIVE_PATH)
    ready = getattr(settings, "SWARMKIT_READY_PATH", swarmkit_settings.READY_PATH)
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
    ttl = getattr(settings, "SWARMKIT_HEALTH_TTL", 2.0)
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
