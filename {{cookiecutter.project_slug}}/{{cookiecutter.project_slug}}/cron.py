"""Cron jobs: functions the scheduler service calls through POST /api/cron/<job>/.

Each slot of each job runs once, whichever replica gets the call (see
swarmkit's docs/django-cron.md and this project's docs/development.md).
Add a job here, or in a ``cron.py`` of any installed app.
"""

import datetime as dt
import logging

from swarmkit.django.cron import RunContext, cron_job

from visits.models import Visit

logger = logging.getLogger(__name__)

KEEP_VISITS = dt.timedelta(days=30)


@cron_job("17 3 * * *", lease=30)
def purge_visits(run: RunContext) -> None:
    """Every night at 03:17 UTC, delete the visits older than KEEP_VISITS."""
    cutoff = run.slot - KEEP_VISITS
    deleted, _ = Visit.objects.filter(created_at__lt=cutoff).delete()
    logger.info("purged %d visits older than %s", deleted, cutoff.isoformat())
