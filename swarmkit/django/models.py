"""The cron tables: one :class:`CronRun` per run of a slot, one :class:`CronLease` per job.

Exactly-once rests on the unique constraint of :class:`CronRun` (a slot can
be recorded once, whoever tries), mutual exclusion on :class:`CronLease` (a
lock that expires unless its holder's heartbeat renews it).
"""

from __future__ import annotations

import uuid

from django.db import models

__all__ = ["CronLease", "CronRun"]


class CronRun(models.Model):
    """One run of a cron job for one slot (or one manual run).

    A row is written when the run starts, with status ``running``, and
    updated when it ends. ``lost`` means the holder stopped renewing its lease
    (killed, or stuck without a database) before it recorded an end; a lost
    slot is never run again. ``token`` is the lease's fencing token.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        LOST = "lost", "lost"

    job = models.CharField(max_length=200)
    slot = models.DateTimeField(help_text="The instant (UTC) the run is for; now for a manual run.")
    manual = models.BooleanField(
        default=False, help_text="Called without a slot (by hand), not by the scheduler."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    run_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token = models.BigIntegerField(help_text="Fencing token of the lease the run held.")
    holder = models.CharField(max_length=255, help_text="host:pid of the process that ran it.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=400, blank=True, default="")

    class Meta:
        app_label = "swarmkit"
        verbose_name = "cron run"
        ordering = ["-started_at", "-id"]
        constraints = [
            # The exactly-once guarantee: whoever records a slot first owns it.
            # `manual` is part of the key so a run by hand can never take a
            # scheduled slot that happens to fall on the same instant.
            models.UniqueConstraint(
                fields=["job", "slot", "manual"], name="swarmkit_cronrun_one_per_slot"
            ),
        ]
        indexes = [
            # Marking lost runs filters on (job, status).
            models.Index(fields=["job", "status"], name="swarmkit_cronrun_job_status"),
            models.Index(fields=["-started_at"], name="swarmkit_cronrun_started"),
        ]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M:%S} ({self.status})"


class CronLease(models.Model):
    """The lock of one job: held while ``expires_at`` is in the future.

    ``token`` grows by one at each acquisition and is never reset, so a
    holder can tell (and anything it writes to can check) whether a newer
    holder took over.
    """

    job = models.CharField(max_length=200, primary_key=True)
    holder = models.CharField(max_length=255, blank=True, default="")
    token = models.BigIntegerField(default=0)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        app_label = "swarmkit"
        verbose_name = "cron lease"
        ordering = ["job"]

    def __str__(self) -> str:
        return f"{self.job} (token {self.token})"
