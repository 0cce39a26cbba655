"""Read-only admin pages for the cron run history and the leases."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from swarmkit.django.models import CronLease, CronRun

__all__ = ["CronLeaseAdmin", "CronRunAdmin"]


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """History is written by the runs only: editing it would fake what happened."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CronRun)
class CronRunAdmin(_ReadOnlyAdmin):
    """Every run, newest first, filterable by job and status."""

    list_display = (
        "job",
        "slot",
        "status",
        "started_at",
        "finished_at",
        "duration_ms",
        "manual",
        "holder",
        "token",
        "error",
    )
    list_filter = ("job", "status", "manual")
    search_fields = ("job", "=run_id", "holder", "error")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")
    readonly_fields = (
        "job",
        "slot",
        "manual",
        "status",
        "run_id",
        "token",
        "holder",
        "started_at",
        "finished_at",
        "duration_ms",
        "error",
    )


@admin.register(CronLease)
class CronLeaseAdmin(_ReadOnlyAdmin):
    """Each job's lease: who took it last, its token, and whether it is held now."""

    list_display = ("job", "held", "holder", "token", "acquired_at", "expires_at")
    readonly_fields = ("job", "holder", "token", "acquired_at", "expires_at")
    ordering = ("job",)

    @admin.display(boolean=True, description="held")
    def held(self, obj: CronLease) -> bool:
        """Whether the lease has not expired (by this server's clock)."""
        return obj.expires_at > timezone.now()
