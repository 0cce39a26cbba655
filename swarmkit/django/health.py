"""Readiness checks, their per-process cache, and the per-container "was ready" marker.

Readiness (:func:`readiness`) asks, right now: does every database answer a
``SELECT 1``, does every cache that is not local memory answer a ``get``, and
are all migrations of the default database applied? The answer is reused by
the process for ``SWARMKIT_HEALTH_TTL`` seconds, so however many probes
arrive, each database sees at most one round trip per TTL per process.

Liveness (:func:`is_alive`) is "this container has been ready once". The
first time a process finds the container ready it writes a marker file in
``SWARMKIT_STATE_DIR``; every process of the container (a recycled gunicorn
worker included) finds the marker there, so a later database outage never
turns liveness into a restart loop.

Responses and :class:`Readiness` results only hold short fixed strings
(``"ok"``, ``"unreachable"``, ``"error"``, ``"unapplied migrations"``,
``"unknown"``); the exception behind a failure goes to the ``swarmkit.health``
logger, once per change of state, never into a response.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db import Error as DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.dispatch import receiver

from swarmkit.django.conf import swarmkit_settings
from swarmkit.exceptions import SwarmkitError
from swarmkit.files import write_atomically

__all__ = [
    "ALIVE_MARKER",
    "ERROR",
    "OK",
    "UNAPPLIED_MIGRATIONS",
    "UNKNOWN",
    "UNREACHABLE",
    "Readiness",
    "check_readiness",
    "is_alive",
    "readiness",
    "reset_state",
]

logger = logging.getLogger("swarmkit.health")

OK: Final = "ok"
UNREACHABLE: Final = "unreachable"
ERROR: Final = "error"
UNAPPLIED_MIGRATIONS: Final = "unapplied migrations"
#: Migrations could not be checked because the default database is down.
UNKNOWN: Final = "unknown"
#: File name of the marker in ``SWARMKIT_STATE_DIR``.
ALIVE_MARKER: Final = "alive"

# Settings whose change (only ever in tests) invalidates what a process remembers.
_RESET_ON = frozenset({"DATABASES", "CACHES", "MIGRATION_MODULES", "INSTALLED_APPS"})


@dataclass(frozen=True)
class Readiness:
    """One readiness result.

    ``checks`` maps a check name (``database:<alias>``, ``cache:<alias>``,
    ``migrations``) to ``"ok"`` or a short error; ``ready`` is whether all are
    ``"ok"``; ``body`` is the JSON document the ready probe answers with,
    built once so that serving a cached result costs no serialisation.
    """

    checks: Mapping[str, str]
    ready: bool = field(init=False)
    body: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ready = all(status == OK for status in self.checks.values())
        document = {"status": "ready" if ready else "unready", "checks": dict(self.checks)}
        object.__setattr__(self, "ready", ready)
        object.__setattr__(self, "body", json.dumps(document).encode())


class _ProcessState:
    """What one process remembers. Guarded by ``lock`` where it matters."""

    def __init__(self) -> None:
        # One check in flight per process: the others reuse or wait for it.
        self.lock = threading.Lock()
        self.result: Readiness | None = None
        self.expires = 0.0
        # Migrations do not become unapplied while a release runs, so once the
        # default database was found fully migrated the loader never runs again.
        self.migrated = False
        # The marker was seen (or written): alive needs no filesystem access.
        self.alive = False


_state = _ProcessState()


def reset_state() -> None:
    """Forget this process's cached result, migrations and liveness memory.

    Workers never need this; tests call it (and a change of any
    ``SWARMKIT_*``, ``DATABASES`` or ``CACHES`` setting does it) so that each
    test starts like a fresh worker. The marker file is left alone.
    """
    with _state.lock:
        _state.result = None
        _state.expires = 0.0
        _state.migrated = False
        _state.alive = False


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("SWARMKIT_") or setting in _RESET_ON:
        reset_state()


def _is_unreachable(exc: Exception) -> bool:
    if isinstance(exc, OSError | OperationalError | InterfaceError):
        return True
    # Cache clients (redis-py, pymemcache) have their own ConnectionError and
    # TimeoutError classes that do not derive from the built-in ones.
    return any(cls.__name__ in ("ConnectionError", "TimeoutError") for cls in type(exc).__mro__)


def _close_quietly(connection: BaseDatabaseWrapper) -> None:
    # A connection that failed must not be reused: the next check reconnects.
    with contextlib.suppress(DatabaseError):
        connection.close()


class _Run:
    """The checks of one :func:`check_readiness` call, with what went wrong."""

    def __init__(self) -> None:
        self.checks: dict[str, str] = {}
        self.details: dict[str, str] = {}

    def fail(self, name: str, exc: Exception, status: str | None = None) -> None:
        if status is None:
            status = UNREACHABLE if _is_unreachable(exc) else ERROR
        self.checks[name] = status
        # For the log only: the text may name hosts and ports.
        self.details[name] = f"{type(exc).__name__}: {exc}".strip()


def _database_aliases() -> list[str]:
    return [
        alias
        for alias, config in settings.DATABASES.items()
        if not str(config.get("ENGINE", "")).endswith(".dummy")
    ]


def _select_one(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1" + connection.features.bare_select_suffix)
        cursor.fetchone()


def _check_database(run: _Run, alias: str) -> None:
    name = f"database:{alias}"
    connection = connections[alias]
    reused = connection.connection is not None
    if reused:
        # Our SELECT 1 is the health check: spare the one CONN_HEALTH_CHECKS
        # would send first, so a check stays one round trip.
        connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        _select_one(connection)
    except Exception as exc:
        _close_quietly(connection)
        if not reused:
            run.fail(name, exc)
            return
        # A persistent connection may just be stale (the server restarted
        # since): only a fresh connection's failure means unreachable.
        try:
            _select_one(connection)
        except Exception as exc:
            _close_quietly(connection)
            run.fail(name, exc)
            return
    run.checks[name] = OK


def _check_caches(run: _Run) -> None:
    for alias in settings.CACHES:
        name = f"cache:{alias}"
        try:
            cache = caches[alias]  # may fail too: a backend whose client is not installed
            # Local-memory caches live and die with the process: nothing to check.
            if isinstance(cache, LocMemCache | DummyCache):
                continue
            cache.get("swarmkit:health")
        except Exception as exc:
            run.fail(name, exc)
        else:
            run.checks[name] = OK


def _check_migrations(run: _Run, database_ok: bool) -> None:
    # Only the default database, as Django's runserver does: other aliases
    # are often replicas or legacy databases that are never migrated.
    if _state.migrated:
        run.checks["migrations"] = OK
        return
    if not database_ok:
        run.checks["migrations"] = UNKNOWN
        return
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        if isinstance(exc, DatabaseError):
            _close_quietly(connection)
        run.fail("migrations", exc)
        return
    if plan:
        run.checks["migrations"] = UNAPPLIED_MIGRATIONS
        run.details["migrations"] = f"{len(plan)} unapplied, first {plan[0][0]}"
        return
    _state.migrated = True
    run.checks["migrations"] = OK


def _log_changes(previous: Readiness | None, run: _Run) -> None:
    # Once per change, so an outage is one line, not one per TTL per worker.
    for name, status in run.checks.items():
        before = previous.checks.get(name) if previous is not None else None
        if status == before:
            continue
        if status != OK:
            logger.warning("readiness check %s: %s (%s)", name, status, run.details.get(name, ""))
        elif before is not None:
            logger.info("readiness check %s: ok again", name)


def check_readiness() -> Readiness:
    """Run every readiness check now, in this thread, bypassing the cache."""
    run = _Run()
    aliases = _database_aliases()
    for alias in aliases:
        _check_database(run, alias)
    _check_caches(run)
    if DEFAULT_DB_ALIAS in aliases:
        _check_migrations(run, run.checks[f"database:{DEFAULT_DB_ALIAS}"] == OK)
    _log_changes(_state.result, run)
    return Readiness(run.checks)


def readiness() -> Readiness:
    """The process's readiness result, at most ``SWARMKIT_HEALTH_TTL`` seconds old.

    Only one thread of a process runs the checks at a time; a thread that
    finds them running reuses the previous result if there is one (it is at
    most one check old) and otherwise waits for the running check.
    """
    result = _state.result
    if result is not None and time.monotonic() < _state.expires:
        return result
    if not _state.lock.acquire(blocking=result is None):
        assert result is not None  # only a non-blocking acquire can fail
        return result
    try:
        result = _state.result
        if result is not None and time.monotonic() < _state.expires:
            return result  # refreshed by the thread we waited for
        result = check_readiness()
        _state.result = result
        # Counted from the end of the check: at most one check per TTL even
        # when a check is slow.
        _state.expires = time.monotonic() + swarmkit_settings.HEALTH_TTL
        return result
    finally:
        _state.lock.release()


def _write_marker(state_dir: Path) -> None:
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(state_dir / ALIVE_MARKER, "ready\n")
    except (OSError, SwarmkitError) as exc:
        # Liveness still holds for this process; only a recycled worker would
        # have to wait for readiness again.
        logger.warning("cannot write the liveness marker in %s: %s", state_dir, exc)


def is_alive() -> bool:
    """Whether this container has been ready at least once.

    Remembered in process memory after the first yes. A process that does not
    know yet looks for the marker in ``SWARMKIT_STATE_DIR`` (left by any
    process of this container), then asks :func:`readiness`, writing the
    marker when the answer is ready.
    """
    if _state.alive:
        return True
    state_dir = swarmkit_settings.STATE_DIR
    if (state_dir / ALIVE_MARKER).is_file():
        _state.alive = True
        return True
    if not readiness().ready:
        return False
    _write_marker(state_dir)
    _state.alive = True
    return True
