"""Placeholder: cron registry is being written (cron helper)."""

from __future__ import annotations

__all__ = ["autodiscover"]


def autodiscover() -> None:
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("cron")
