"""Cron jobs: the ``@cron_job`` decorator, the registry and the schedule maths.

Jobs live in any installed app's ``cron.py`` (found at start-up by
:func:`autodiscover`)::

    from swarmkit.django.cron import cron_job

    @cron_job("*/5 * * * *", lease=30)
    def send_digests(run):          # run: RunContext (optional argument)
        ...

Schedules have five fields, or six with seconds as the LAST field (croniter's
convention: ``* * * * * */5`` is every five seconds), and are read in
``SWARMKIT_CRON_TZ`` (UTC by default). A slot is the instant a schedule
fires, always handled as an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from swarmkit.exceptions import CronScheduleError

__all__ = [
    "CronJob",
    "RunContext",
    "autodiscover",
    "cron_job",
    "duplicate_job_names",
    "get_job",
    "get_jobs",
    "parse_schedule",
]

F = TypeVar("F", bound=Callable[..., Any])

_UTC = dt.UTC
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=_UTC)  # where the "does it ever fire" search starts


def parse_schedule(expression: str) -> str:
    """``expression`` normalised (single spaces), or :class:`CronScheduleError`.

    Refused: not five or six fields, a field out of range, or a schedule that
    never fires (``0 0 30 2 *``).
    """
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise CronScheduleError(
            f"cron schedule {expression!r} has {len(fields)} fields",
            hint="write five fields (minute hour day month weekday), or six with seconds last",
        )
    normalised = " ".join(fields)
    if not croniter.is_valid(normalised):
        raise CronScheduleError(
            f"cron schedule {expression!r} is not a valid cron expression",
            hint="check each field's range: minute 0-59, hour 0-23, day 1-31, month 1-12, "
            "weekday 0-6, seconds 0-59",
        )
    try:
        croniter(normalised, _EPOCH).get_next(dt.datetime)
    except CroniterBadDateError:
        # Valid field by field, yet no date matches (``0 0 30 2 *``): every slot
        # lookup would raise, so the endpoint would answer 500 to every call.
        never = True
    else:
        never = False
    if never:
        raise CronScheduleError(
            f"cron schedule {expression!r} never fires (no date matches it)",
            hint="check the day against the month: April has no 31st, February no 30th",
        )
    return normalised


def _zone() -> dt.tzinfo:
    from swarmkit.django.conf import swarmkit_settings

    name = swarmkit_settings.CRON_TZ
    if name.upper() == "UTC":
        return _UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # checks.py reports E007; until then schedules run in UTC rather than crash.
        return _UTC


@dataclass(frozen=True)
class RunContext:
    """What a job function may take as its one argument.

    ``slot`` is the UTC instant the run is for (now, for a manual run),
    ``run_id`` identifies the run in the history, ``token`` is the fencing
    token of the lease: pass it along to anything that must refuse writes from
    a holder that lost its lease. ``lease_lost`` is set if a heartbeat found
    the lease taken over; a long job should check it and stop.
    """

    job: str
    slot: dt.datetime
    run_id: uuid.UUID
    token: int
    manual: bool = False
    lease_lost: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class CronJob:
    """A registered job. ``error`` is set (and the job refused) when the schedule is invalid."""

    name: str
    schedule: str
    lease: float
    func: Callable[..., Any]
    background: bool = False
    error: str | None = None

    @property
    def lease_error(self) -> str | None:
        """Why ``lease`` is unusable (not a positive, finite number of seconds), or ``None``."""
        value: Any = self.lease
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"lease {value!r} is not a number of seconds"
        if not math.isfinite(value) or value <= 0:
            return f"lease {value!r} is not a positive number of seconds"
        return None

    @property
    def takes_context(self) -> bool:
        """Whether the function takes the :class:`RunContext` argument."""
        return bool(inspect.signature(self.func).parameters)

    def run(self, context: RunContext) -> Any:
        """Call the function, with ``context`` when it takes an argument."""
        if self.takes_context:
            return self.func(context)
        return self.func()

    def _iter(self, start: dt.datetime) -> croniter:
        if self.error is not None:
            raise CronScheduleError(self.error)
        return croniter(self.schedule, start.astimezone(_zone()))

    def next_slot(self, after: dt.datetime) -> dt.datetime:
        """The first slot strictly after ``after`` (aware), in UTC."""
        nxt: dt.datetime = self._iter(after).get_next(dt.datetime)
        return nxt.astimezone(_UTC)

    def latest_slot(self, at: dt.datetime) -> dt.datetime:
        """The last slot at or before ``at`` (aware), in UTC."""
        prev: dt.datetime = self._iter(at + dt.timedelta(microseconds=1)).get_prev(dt.datetime)
        return prev.astimezone(_UTC)

    def is_slot(self, when: dt.datetime) -> bool:
        """Whether ``when`` (aware) is exactly one of the schedule's instants."""
        if when.microsecond:
            return False
        return self.next_slot(when - dt.timedelta(seconds=1)) == when.astimezone(_UTC)


_registry: dict[str, CronJob] = {}
_duplicates: list[tuple[str, str, str]] = []
_lock = threading.Lock()


def _qualname(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def cron_job(
    schedule: str,
    *,
    lease: float = 30,
    name: str | None = None,
    background: bool = False,
) -> Callable[[F], F]:
    """Register the decorated function as the cron job ``name`` (its ``__name__`` by default).

    ``lease`` is the lock's time to live in seconds; a heartbeat renews it
    every ``max(0.5, lease / 3)`` seconds while the job runs, so it bounds how
    long a dead holder blocks the job, not how long the job may take (the
    default, 30, equals the default ``SWARMKIT_CRON_REQUEST_TIMEOUT``).
    ``background=True`` runs the job outside the request (the endpoint
    answers 202 at once), for jobs longer than the HTTP timeouts on the path.
    An invalid schedule is kept and reported by the system check
    ``swarmkit.E001``; the endpoint refuses such a job.
    """

    def register(func: F) -> F:
        job_name = name or func.__name__
        try:
            normalised, error = parse_schedule(schedule), None
        except CronScheduleError as exc:
            normalised, error = schedule, str(exc)
        job = CronJob(
            name=job_name,
            schedule=normalised,
            lease=lease,
            func=func,
            background=background,
            error=error,
        )
        with _lock:
            existing = _registry.get(job_name)
            if existing is not None and _qualname(existing.func) != _qualname(func):
                _duplicates.append((job_name, _qualname(existing.func), _qualname(func)))
            _registry[job_name] = job
        return func

    return register


def get_jobs() -> Mapping[str, CronJob]:
    """Every registered job by name (a snapshot)."""
    with _lock:
        return dict(_registry)


def get_job(name: str) -> CronJob | None:
    """The job called ``name``, or ``None``."""
    with _lock:
        return _registry.get(name)


def duplicate_job_names() -> list[tuple[str, str, str]]:
    """``(name, first function, second function)`` for each name registered twice."""
    with _lock:
        return list(_duplicates)


def autodiscover() -> None:
    """Import ``cron.py`` of every installed app, registering its jobs."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("cron")
