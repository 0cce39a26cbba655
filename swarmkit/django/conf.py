"""The ``SWARMKIT_*`` settings, read lazily so ``override_settings`` works.

Every property reads ``django.conf.settings`` on access; nothing is cached.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings

__all__ = ["SwarmkitSettings", "swarmkit_settings"]

_MISSING = object()


class SwarmkitSettings:
    """Each ``SWARMKIT_<NAME>`` setting as a property with its default."""

    def _get(self, name: str, default: Any) -> Any:
        return getattr(django_settings, f"SWARMKIT_{name}", default)

    @property
    def ALIVE_PATH(self) -> str:  # noqa: N802 - setting names are upper case
        """Path of the liveness probe (what the Swarm HEALTHCHECK calls)."""
        return str(self._get("ALIVE_PATH", "/api/alive/"))

    @property
    def READY_PATH(self) -> str:  # noqa: N802
        """Path of the readiness probe."""
        return str(self._get("READY_PATH", "/api/ready/"))

    @property
    def STATE_DIR(self) -> Path:  # noqa: N802
        """Per-container directory (a tmpfs in production) for the "was ready" marker."""
        value = self._get("STATE_DIR", None)
        if value is None:
            return Path(tempfile.gettempdir()) / "swarmkit"
        return Path(value)

    @property
    def HEALTH_TTL(self) -> float:  # noqa: N802
        """Seconds a readiness result is reused by a process."""
        return float(self._get("HEALTH_TTL", 2.0))

    @property
    def CRON_TZ(self) -> str:  # noqa: N802
        """Time zone cron schedules are read in (an IANA name)."""
        return str(self._get("CRON_TZ", "UTC"))

    @property
    def CRON_API_KEY(self) -> str | None:  # noqa: N802
        """Bearer key of the cron endpoints; the secret ``cron_api_key`` when unset."""
        value = self._get("CRON_API_KEY", _MISSING)
        if value is _MISSING:
            from swarmkit.django.secrets import secret

            found = secret("cron_api_key", default=None)
            return None if found is None else str(found)
        return None if value is None else str(value)

    @property
    def CRON_URL(self) -> str | None:  # noqa: N802
        """Where the scheduler POSTs, e.g. ``http://app:8000/api/cron/``."""
        value = self._get("CRON_URL", None)
        return None if value is None else str(value)

    @property
    def CRON_REQUEST_TIMEOUT(self) -> float:  # noqa: N802
        """Seconds the HTTP path (gunicorn, nginx) lets a cron request run."""
        return float(self._get("CRON_REQUEST_TIMEOUT", 30.0))

    @property
    def CRON_GRACE(self) -> float:  # noqa: N802
        """How old a missed slot may be and still be fired when the scheduler starts."""
        return float(self._get("CRON_GRACE", 60.0))


swarmkit_settings = SwarmkitSettings()
