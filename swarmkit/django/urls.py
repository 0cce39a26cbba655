"""Placeholder: cron endpoints are being written (cron helper)."""

from __future__ import annotations

from django.urls import URLPattern

__all__ = ["app_name", "urlpatterns"]

app_name = "swarmkit"
urlpatterns: list[URLPattern] = []
