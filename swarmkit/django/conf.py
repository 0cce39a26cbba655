"""The ``SWARMKIT_*`` settings, read lazily so ``override_settings`` works.

Every property reads ``django.conf.settings`` on access; nothing is cached.
:meth:`SwarmkitSettings.raw` gives a setting as it was written (for the
system checks, which must see a wrong type rather than a converted value).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Final

from django.conf import settings as django_settings

__all__ = ["CRON_KEY_STRIP", "SwarmkitSettings", "cron_key_problem", "swarmkit_settings"]

_MISSING = object()

CRON_KEY_STRIP: Final = " \t\r\n"
"""What is stripped from both ends of the cron API key, the configured one and the
presented one alike: HTTP drops spaces and tabs around a header value, and a
secret file often ends in a newline, so neither can be part of a key."""

_DEFAULTS: Final[dict[str, Any]] = {
    "ALIVE_PATH": "/api/alive/",
    "READY_PATH": "/api/ready/",
    "STATE_DIR": None,
    "HEALTH_TTL": 2.0,
    "CRON_TZ": "UTC",
    "CRON_URL": None,
    "CRON_REQUEST_TIMEOUT": 30.0,
    "CRON_GRACE": 60.0,
}


def cron_key_problem(key: str) -> str | None:
    """Why ``key`` (stripped) cannot travel in an HTTP header, or ``None``; never quotes it."""
    if any(not " " <= char <= "~" for char in key):
        return (
            "the cron API key has a character that is not printable ASCII (a control "
            "character, a line break or a non-ASCII letter), which no HTTP header can carry"
        )
    return None


class SwarmkitSettings:
    """Each ``SWARMKIT_<NAME>`` setting as a property with its default."""

    def _get(self, name: str, default: Any) -> Any:
        return getattr(django_settings, f"SWARMKIT_{name}", default)

    def raw(self, name: str) -> Any:
        """``SWARMKIT_<name>`` as written in the settings (unconverted), or its default."""
        return self._get(name, _DEFAULTS[name])

    def django(self, name: str, default: Any = None) -> Any:
        """One of Django's own settings (``DEBUG``, ``MIDDLEWARE``) that swarmkit reads."""
        return getattr(django_settings, name, default)

    @property
    def ALIVE_PATH(self) -> str:  # noqa: N802 - setting names are upper case
        """Path of the liveness probe (what the Swarm HEALTHCHECK calls)."""
        return str(self.raw("ALIVE_PATH"))

    @property
    def READY_PATH(self) -> str:  # noqa: N802
        """Path of the readiness probe."""
        return str(self.raw("READY_PATH"))

    @property
    def STATE_DIR(self) -> Path:  # noqa: N802
        """Per-container directory (a tmpfs in production) for the "was ready" marker."""
        value = self.raw("STATE_DIR")
        if value is None:
            return Path(tempfile.gettempdir()) / "swarmkit"
        return Path(value)

    @property
    def HEALTH_TTL(self) -> float:  # noqa: N802
        """Seconds a readiness result is reused by a process."""
        return float(self.raw("HEALTH_TTL"))

    @property
    def CRON_TZ(self) -> str:  # noqa: N802
        """Time zone cron schedules are read in (an IANA name)."""
        return str(self.raw("CRON_TZ"))

    @property
    def CRON_API_KEY(self) -> str | None:  # noqa: N802
        """Bearer key of the cron endpoints; the secret ``cron_api_key`` when unset.

        Stripped of :data:`CRON_KEY_STRIP` at both ends; ``None`` when empty.
        """
        value = self._get("CRON_API_KEY", _MISSING)
        if value is _MISSING:
            from swarmkit.django.secrets import secret

            value = secret("cron_api_key", default=None)
        if value is None:
            return None
        return str(value).strip(CRON_KEY_STRIP) or None

    @property
    def CRON_API_KEY_FALLBACKS(self) -> list[str]:  # noqa: N802
        """Earlier keys the cron endpoints still accept while a new one rolls out.

        A list, or the secret ``cron_api_key_fallbacks`` (keys separated by
        white space or commas) when unset; ``[]`` without either. The
        scheduler sends them first (see :class:`~swarmkit.django.scheduler.Scheduler`).
        """
        value = self._get("CRON_API_KEY_FALLBACKS", _MISSING)
        if value is _MISSING:
            from swarmkit.django.secrets import secret

            value = secret("cron_api_key_fallbacks", default="")
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        return [key for key in (str(v).strip(CRON_KEY_STRIP) for v in value or ()) if key]

    @property
    def CRON_URL(self) -> str | None:  # noqa: N802
        """Where the scheduler POSTs, e.g. ``http://app:8000/api/cron/``."""
        value = self.raw("CRON_URL")
        return None if value is None else str(value)

    @property
    def CRON_REQUEST_TIMEOUT(self) -> float:  # noqa: N802
        """Seconds the HTTP path (gunicorn, nginx) lets a cron request run."""
        return float(self.raw("CRON_REQUEST_TIMEOUT"))

    @property
    def CRON_GRACE(self) -> float:  # noqa: N802
        """How old a missed slot may be and still be fired when the scheduler starts."""
        return float(self.raw("CRON_GRACE"))


swarmkit_settings = SwarmkitSettings()
