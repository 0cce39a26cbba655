"""Cron jobs of the test project. Each body writes one ``JobEffect`` row when it really runs.

Six-field schedules (seconds last) fire every second, so tests can use
recent slots. Sleep lengths come from the environment, so each gunicorn
"replica" of a test can get its own.
"""

from __future__ import annotations

import os
import time

from swarmkit.django.cron import RunContext, cron_job
from tests.django.project.jobs.models import JobEffect


def _effect(run: RunContext) -> None:
    JobEffect.objects.create(job=run.job, slot=run.slot, token=run.token, pid=os.getpid())


def _sleep(variable: str) -> None:
    time.sleep(float(os.environ.get(variable, "0")))


@cron_job("* * * * * *", lease=30)
def quick(run: RunContext) -> None:
    """Records its effect, then sleeps ``TEST_JOB_SLEEP`` seconds."""
    _effect(run)
    _sleep("TEST_JOB_SLEEP")


@cron_job("* * * * * *", lease=2)
def slow(run: RunContext) -> None:
    """Records its effect, then sleeps ``TEST_SLOW_SECONDS``: the one killed mid-job."""
    _effect(run)
    _sleep("TEST_SLOW_SECONDS")


@cron_job("* * * * * *", lease=30, name="broken")
def fails(run: RunContext) -> None:
    """Records its effect, then raises."""
    _effect(run)
    raise RuntimeError("the report server said no " + "x" * 400)


@cron_job("* * * * * *", lease=5, background=True)
def in_background(run: RunContext) -> None:
    """Runs outside the request; sleeps ``TEST_JOB_SLEEP`` seconds."""
    _effect(run)
    _sleep("TEST_JOB_SLEEP")


@cron_job("*/5 * * * *")
def every_five_minutes() -> None:
    """Five fields, no argument."""
    JobEffect.objects.create(job="every_five_minutes", pid=os.getpid())
