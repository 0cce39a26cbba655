from __future__ import annotations

from django.db import models


class JobEffect(models.Model):
    """One row per time a job body really ran: what "exactly once" is counted on."""

    job = models.CharField(max_length=100)
    slot = models.DateTimeField(null=True)
    token = models.BigIntegerField(null=True)
    pid = models.IntegerField()
    created = models.DateTimeField(auto_now_add=True)
