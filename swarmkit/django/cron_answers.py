"""What a cron call's answer means, and whether a cron URL is usable.

The scheduler's side of the cron endpoint's contract (docs/django-cron.md):
:func:`classify` turns an HTTP answer into an :data:`Outcome` (only
``retry`` leads to another attempt), :func:`check_url` is the one rule for
``SWARMKIT_CRON_URL`` that the scheduler and the system check
``swarmkit.E010`` share. ``swarmkit.django.scheduler`` re-exports them.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Outcome", "Verdict", "check_url", "classify"]

Outcome = Literal["succeeded", "accepted", "failed", "conflict", "config_error", "retry"]
"""How one call ended; only ``retry`` leads to another attempt."""


@dataclass(frozen=True)
class Verdict:
    """One call's result: ``outcome`` and the event fields to log with it."""

    outcome: Outcome
    fields: Mapping[str, Any]


_CONFIG_HINTS = {
    400: "the endpoint refused the request: is the slot one of the job's slots, "
    "and do the scheduler and the app read schedules in the same SWARMKIT_CRON_TZ?",
    401: "wrong or missing key: the scheduler and the app must read the same cron_api_key",
    403: "refused before the cron view: put swarmkit.django.middleware.ProbeMiddleware "
    "first in MIDDLEWARE, and check no proxy sits in front of SWARMKIT_CRON_URL",
    404: "no such job or wrong URL: do the scheduler and the app run the same release, "
    "and does SWARMKIT_CRON_URL end in the cron prefix (e.g. http://app:8000/api/cron/)?",
}
_REDIRECT_HINT = (
    "the app redirected the call (SECURE_SSL_REDIRECT, APPEND_SLASH or a proxy): put "
    "swarmkit.django.middleware.ProbeMiddleware first in MIDDLEWARE and point "
    "SWARMKIT_CRON_URL at the app's container port; redirects are never followed"
)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return None
    return data if isinstance(data, dict) else None


def classify(code: int | None, body: bytes, location: str | None = None) -> Verdict:
    """Classify an answer (``code=None``: no HTTP answer at all) by the endpoint's contract."""
    if code is None:
        return Verdict("retry", {})
    data = _json_object(body) or {}
    run: dict[str, Any] = {k: data.get(k) for k in ("status", "run_id", "duration_ms") if k in data}
    if code in (200, 202) and "run_id" in data:
        if code == 202:
            return Verdict("accepted", run)
        return Verdict("failed" if data.get("status") == "failed" else "succeeded", run)
    if code == 500 and "run_id" in data:
        # The job raised (``failed``) or its holder vanished (``lost``): recorded, done.
        return Verdict("failed", run)
    if code == 409 and data.get("reason") in ("running", "done"):
        return Verdict("conflict", {"reason": data["reason"], **run})
    if code in (408, 429) or code >= 500:
        return Verdict("retry", {})
    if 300 <= code < 400:
        return Verdict("config_error", {"location": location, "hint": _REDIRECT_HINT})
    detail = data or body[:200].decode("utf-8", "replace").strip() or None
    hint = _CONFIG_HINTS.get(code, "the answer is not the cron endpoint's: check SWARMKIT_CRON_URL")
    return Verdict("config_error", {"detail": detail, "hint": hint})


def _shown_url(url: str) -> str:
    """``url`` as a message may quote it: anything before an ``@`` (credentials) cut out."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "<credentials removed>@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"


def check_url(url: object) -> str | None:
    """What is wrong with ``url`` as the cron URL, or ``None``: http(s), a host, ends in ``/``.

    The one rule for ``SWARMKIT_CRON_URL``: the scheduler and the system check
    ``swarmkit.E010`` both use it. Credentials in the URL (refused) are never
    quoted, whatever else is wrong with it.
    """
    if not isinstance(url, str):
        return f"the cron URL is a {type(url).__name__}, not a string"
    shown = _shown_url(url)
    try:
        parts = urllib.parse.urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:  # an invalid port or IPv6 literal
        return f"cron URL {shown!r} is not a valid URL (check the host and the port)"
    if "@" in parts.netloc:
        # The part before '@' is a password as often as not: never quote it.
        return (
            f"cron URL {shown!r} has credentials in it; remove them "
            "(the key goes in the secret cron_api_key)"
        )
    if parts.scheme not in ("http", "https") or not hostname:
        return f"cron URL {shown!r} is not an http:// or https:// URL with a host"
    if parts.query or parts.fragment or not parts.path.endswith("/"):
        return f"cron URL {shown!r} does not end in '/' (e.g. http://app:8000/api/cron/)"
    return None
