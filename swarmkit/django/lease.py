"""Cron leases: a lock in the database that expires unless its holder renews it.

The source's cron lock was released only by the job that took it, so a
replica killed mid-job left it taken until someone released it by hand. A
lease instead has an expiry; a :class:`Heartbeat` thread in the holder's
process pushes it forward while the job runs. When the process dies, the
heartbeat dies with it and the lease expires on its own, ``ttl`` seconds
after the last renewal at most.

Every time is the database's clock (``Now()``), never a replica's, so replicas
with skewed clocks still agree on when a lease expires. Each acquisition
increments the lease's fencing ``token``; renewing and releasing only touch
the lease while it still carries the caller's token.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable

from django.db import DatabaseError, connections, router, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F
from django.db.models.expressions import Combinable
from django.db.models.functions import Now

from swarmkit.django.models import CronLease

__all__ = [
    "Heartbeat",
    "acquire",
    "heartbeat_interval",
    "holder_id",
    "release",
    "renew",
]

logger = logging.getLogger("swarmkit.cron")

# What a released or never-taken lease expires at: any instant in the past
# works, a constant one does not depend on any clock.
_RELEASED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def holder_id() -> str:
    """``host:pid`` of this process, recorded with leases and runs (admin only)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_interval(ttl: float) -> float:
    """Seconds between renewals: three tries per lease, at most two a second."""
    return max(0.5, ttl / 3)


def _expiry(ttl: float) -> Combinable:
    return ExpressionWrapper(Now() + dt.timedelta(seconds=ttl), output_field=DateTimeField())


def acquire(job: str, ttl: float, holder: str) -> int | None:
    """Take ``job``'s lease for ``ttl`` seconds if it has expired; the new token, or ``None``.

    One conditional UPDATE decides: on PostgreSQL a concurrent acquirer
    waits for the winner's row lock, then re-checks ``expires_at`` and finds
    it in the future; on SQLite writers are serialised. Call it inside
    ``transaction.atomic()`` to do more work (recording the run) before
    anyone can see the lease taken.
    """
    with transaction.atomic(using=router.db_for_write(CronLease)):
        # The row must exist for the UPDATE to have something to win.
        CronLease.objects.bulk_create(
            [CronLease(job=job, token=0, expires_at=_RELEASED)], ignore_conflicts=True
        )
        taken = CronLease.objects.filter(job=job, expires_at__lt=Now()).update(
            token=F("token") + 1,
            holder=holder,
            acquired_at=Now(),
            expires_at=_expiry(ttl),
        )
        if not taken:
            return None
        # Same transaction: we read our own write, not a later holder's.
        token: int = CronLease.objects.filter(job=job).values_list("token", flat=True).get()
        return token


def renew(job: str, token: int, ttl: float) -> bool:
    """Push the lease's expiry to ``ttl`` seconds from now; ``False`` if ``token`` lost it."""
    return bool(CronLease.objects.filter(job=job, token=token).update(expires_at=_expiry(ttl)))


def release(job: str, token: int) -> bool:
    """Let the next caller take the lease now; ``False`` if ``token`` no longer holds it.

    The token stays, so the next acquisition still gets a larger one.
    """
    return bool(CronLease.objects.filter(job=job, token=token).update(expires_at=_RELEASED))


class Heartbeat:
    """A daemon thread renewing a lease every :func:`heartbeat_interval` seconds.

    Daemon on purpose: if the process dies, so does the heartbeat, and the
    lease expires. ``on_lost`` is called once if a renewal finds that another
    holder took the lease (this holder stalled for longer than the TTL). A
    database error only skips a beat: the lease outlives two missed ones.
    """

    def __init__(self, job: str, token: int, ttl: float, on_lost: Callable[[], None]) -> None:
        self.job = job
        self.token = token
        self.ttl = ttl
        self.interval = heartbeat_interval(ttl)
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"swarmkit-heartbeat-{job}", daemon=True
        )

    def start(self) -> None:
        """Start renewing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing and wait for the thread (at most one renewal in flight)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    held = renew(self.job, self.token, self.ttl)
                except DatabaseError:
                    logger.warning(
                        "cron job %s: could not renew its lease (token %d), will retry",
                        self.job,
                        self.token,
                        exc_info=True,
                    )
                    continue
                if not held:
                    logger.error(
                        "cron job %s: lease with token %d was taken over by a newer holder; "
                        "this run is no longer protected by the lock",
                        self.job,
                        self.token,
                    )
                    self._on_lost()
                    return
        finally:
            # This thread's own connection: nobody else would ever close it.
            connections.close_all()
