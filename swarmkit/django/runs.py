"""Running one slot of a cron job exactly once: :func:`run_slot`.

The order of things, for a call for ``(job, slot)``:

1. A slot already recorded as finished is refused without touching the lease.
2. In one transaction: take the job's lease (a new fencing token ``T``), mark
   every ``running`` run of the job with a token below ``T`` as ``lost`` (its
   holder stopped renewing, or we could not have taken the lease), and record
   the run. If the slot is already recorded, the transaction releases the
   lease again and the call is refused as ``done``.
3. Run the job with a heartbeat renewing the lease, record how it ended, and
   release the lease. The end is recorded only while the run is still
   ``running`` with token ``T`` (fenced): a holder that stalled past its lease
   and then resumed finds its run marked ``lost`` by a newer holder, leaves it
   so, and logs that it was fenced off.

A refused call is a :class:`Conflict`; anything else a :class:`RunResult`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Final

from django.db import IntegrityError, connections, router, transaction
from django.db.models.functions import Now
from django.utils import timezone

from swarmkit.django import lease
from swarmkit.django.cron import CronJob, RunContext
from swarmkit.django.models import CronRun

# SlotError lives with the other errors (importable without Django); kept in __all__ here.
from swarmkit.exceptions import CronError, SlotError

__all__ = [
    "MAX_FUTURE",
    "MAX_PAST",
    "Conflict",
    "RunResult",
    "SlotError",
    "check_slot",
    "format_slot",
    "job_problem",
    "parse_slot",
    "run_slot",
    "wait_for_background",
]

logger = logging.getLogger("swarmkit.cron")

MAX_FUTURE: Final = dt.timedelta(seconds=60)
"""How far ahead of this replica's clock a slot may be (scheduler clock skew)."""

MAX_PAST: Final = dt.timedelta(days=3660)
"""How far behind this replica's clock a slot may be: ten years, more than any
schedule's gap between two slots (``0 0 29 2 *`` skips 2100: eight years), and
far from the ends of ``datetime``'s range, whose arithmetic would overflow."""

_SLOT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_ERROR_MAX = 300
_Status = CronRun.Status


@dataclass(frozen=True)
class RunResult:
    """A run that happened, or (``status == "running"``) was started in the background."""

    job: str
    slot: dt.datetime
    run_id: uuid.UUID
    status: str
    token: int
    manual: bool
    duration_ms: int | None


@dataclass(frozen=True)
class Conflict:
    """A refused call: ``reason`` is ``"running"`` (the lease is held) or ``"done"``.

    ``status`` is the recorded run's status when the slot was already recorded.
    """

    job: str
    slot: dt.datetime
    reason: str
    status: str | None = None


def format_slot(slot: dt.datetime) -> str:
    """``2026-01-01T00:05:00Z``: ISO 8601 in UTC with ``Z``."""
    return slot.astimezone(dt.UTC).replace(tzinfo=None).isoformat() + "Z"


def parse_slot(text: str) -> dt.datetime:
    """A slot from ``YYYY-MM-DDTHH:MM:SSZ`` (UTC with ``Z`` only), or :class:`SlotError`."""
    if not _SLOT_RE.fullmatch(text):
        raise SlotError("slot must be an ISO 8601 UTC instant like 2026-01-01T00:05:00Z")
    try:
        return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC)
    except ValueError:
        raise SlotError(f"slot {text!r} is not a valid date and time") from None


def job_problem(job: CronJob) -> str | None:
    """Why ``job`` cannot run (invalid schedule or lease), or ``None``."""
    return job.error or job.lease_error


def check_slot(job: CronJob, slot: dt.datetime, now: dt.datetime | None = None) -> None:
    """:class:`SlotError` unless ``slot`` is on ``job``'s schedule and not too far ahead."""
    now = now or timezone.now()
    if slot - now > MAX_FUTURE:
        raise SlotError(
            f"slot {format_slot(slot)} is more than {MAX_FUTURE.seconds} s in the future"
        )
    # Before the schedule maths: a slot near datetime.min would overflow it.
    if now - slot > MAX_PAST:
        raise SlotError(
            f"slot {format_slot(slot)} is more than {MAX_PAST.days} days in the past",
            hint="send a slot of the last ten years, or no slot for a manual run",
        )
    if not job.is_slot(slot):
        raise SlotError(
            f"slot {format_slot(slot)} is not on the schedule {job.schedule!r} of job {job.name!r}"
        )


def _recorded_status(job: str, slot: dt.datetime, manual: bool) -> str | None:
    runs = CronRun.objects.filter(job=job, slot=slot, manual=manual)
    return runs.values_list("status", flat=True).first()


def _error_summary(exc: Exception) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= _ERROR_MAX else text[: _ERROR_MAX - 1] + "…"


def _mark_lost(job: str, token: int) -> None:
    lost = CronRun.objects.filter(job=job, status=_Status.RUNNING, token__lt=token)
    for slot, holder, old in lost.values_list("slot", "holder", "token"):
        logger.warning(
            "cron job %s: run for slot %s (holder %s, token %d) is lost: its holder "
            "stopped renewing the lease; the slot will not be run again",
            job,
            format_slot(slot),
            holder,
            old,
        )
    lost.update(
        status=_Status.LOST,
        finished_at=Now(),
        error="lost: the holder stopped renewing its lease (process killed or stuck)",
    )


def run_slot(job: CronJob, slot: dt.datetime | None = None) -> RunResult | Conflict:
    """Run ``job`` for ``slot`` unless that slot is taken; ``slot=None`` runs it now, by hand.

    The slot is not validated here (see :func:`check_slot`). Must not be
    called inside a transaction: the lease and the run record have to be
    committed before the job starts, or other replicas would not see them.
    Background jobs return a ``running`` result at once; the job's own
    exception is recorded (``failed``), never raised.
    """
    db = router.db_for_write(CronRun)
    if connections[db].in_atomic_block:
        raise CronError(
            f"cron job {job.name!r} cannot start inside a transaction",
            job=job.name,
            hint="call it in autocommit mode (the cron view is non_atomic_requests)",
        )
    manual = slot is None
    when = timezone.now() if slot is None else slot.astimezone(dt.UTC)
    if not manual:
        recorded = _recorded_status(job.name, when, manual)
        if recorded is not None and recorded != _Status.RUNNING:
            return Conflict(job.name, when, "done", recorded)

    holder = lease.holder_id()
    run_id = uuid.uuid4()
    with transaction.atomic(using=db):
        token = lease.acquire(job.name, job.lease, holder)
        if token is None:
            return Conflict(job.name, when, "running")
        _mark_lost(job.name, token)
        try:
            with transaction.atomic(using=db):
                run = CronRun.objects.create(
                    job=job.name,
                    slot=when,
                    manual=manual,
                    status=_Status.RUNNING,
                    run_id=run_id,
                    token=token,
                    holder=holder,
                    started_at=Now(),
                )
        except IntegrityError:
            # Recorded by an earlier holder: never run a slot twice.
            lease.release(job.name, token)
            recorded = _recorded_status(job.name, when, manual)
            reason = "running" if recorded == _Status.RUNNING else "done"
            return Conflict(job.name, when, reason, recorded)

    context = RunContext(job=job.name, slot=when, run_id=run_id, token=token, manual=manual)
    logger.info(
        "cron job %s: slot %s started (run %s, token %d)",
        job.name,
        format_slot(when),
        run_id,
        token,
    )
    if job.background:
        _start_background(job, run.pk, context)
        return RunResult(job.name, when, run_id, _Status.RUNNING, token, manual, None)
    status, duration_ms = _execute(job, run.pk, context)
    return RunResult(job.name, when, run_id, status, token, manual, duration_ms)


def _record_end(
    job: CronJob, run_pk: int, context: RunContext, status: str, *, duration_ms: int, error: str
) -> str:
    """Record how the run ended, fenced by its token; the status the record now holds.

    Only a run still ``running`` under this holder's token is updated: a
    holder that stalled past its lease (a paused container, a long GC) finds
    its run already marked ``lost`` by the newer holder, and must not turn it
    into ``succeeded`` or ``failed`` behind that holder's back. One
    conditional UPDATE: on PostgreSQL it waits for a concurrent takeover's
    row lock and re-checks the condition on the row that takeover wrote.
    """
    fenced = CronRun.objects.filter(pk=run_pk, token=context.token, status=_Status.RUNNING)
    if fenced.update(status=status, finished_at=Now(), duration_ms=duration_ms, error=error):
        return status
    recorded = CronRun.objects.filter(pk=run_pk).values_list("status", flat=True).first()
    logger.warning(
        "cron job %s: run %s for slot %s (token %d) was fenced off: a newer holder took "
        "its lease and recorded it as %s, so its own outcome (%s) is not recorded",
        job.name,
        context.run_id,
        format_slot(context.slot),
        context.token,
        recorded or "deleted",
        status,
    )
    return recorded or _Status.LOST


def _execute(job: CronJob, run_pk: int, context: RunContext) -> tuple[str, int]:
    """Run the job under a heartbeat; record the end and release the lease."""
    heartbeat = lease.Heartbeat(job.name, context.token, job.lease, context.lease_lost.set)
    heartbeat.start()
    started = time.monotonic()
    status: str | None = None
    error = ""
    try:
        job.run(context)
        status = _Status.SUCCEEDED
    except Exception as exc:  # the job's own failure is recorded, never re-run
        status = _Status.FAILED
        error = _error_summary(exc)
        logger.exception(
            "cron job %s: slot %s failed (run %s)",
            job.name,
            format_slot(context.slot),
            context.run_id,
        )
    finally:
        heartbeat.stop()
        duration_ms = round((time.monotonic() - started) * 1000)
        if status is None:
            # Interrupted (the worker is exiting): the job did not finish.
            error = "lost: interrupted before the job finished (worker exiting)"
        final = _record_end(
            job, run_pk, context, status or _Status.LOST, duration_ms=duration_ms, error=error
        )
        if not lease.release(job.name, context.token):
            logger.warning(
                "cron job %s: lease (token %d) was already taken over when the run ended",
                job.name,
                context.token,
            )
    logger.info(
        "cron job %s: slot %s %s in %d ms", job.name, format_slot(context.slot), final, duration_ms
    )
    return final, duration_ms


_background: set[threading.Thread] = set()
_background_lock = threading.Lock()


def _start_background(job: CronJob, run_pk: int, context: RunContext) -> None:
    def target() -> None:
        try:
            _execute(job, run_pk, context)
        finally:
            connections.close_all()
            with _background_lock:
                _background.discard(thread)

    # Not a daemon: a worker that exits gracefully waits for the job to end.
    thread = threading.Thread(target=target, name=f"swarmkit-cron-{job.name}", daemon=False)
    with _background_lock:
        _background.add(thread)
    thread.start()


def wait_for_background(timeout: float | None = None) -> bool:
    """Wait for the background runs started by this process; ``True`` if all ended."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _background_lock:
            threads = list(_background)
        if not threads:
            return True
        for thread in threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
            if thread.is_alive():
                return False
