"""The Django app: ``INSTALLED_APPS += ["swarmkit.django"]`` (label ``swarmkit``)."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["SwarmkitConfig"]


class SwarmkitConfig(AppConfig):
    """Registers the system checks and discovers every installed app's ``cron.py``."""

    name = "swarmkit.django"
    label = "swarmkit"
    verbose_name = "Swarmkit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from swarmkit.django import checks  # noqa: F401  (registers the checks)
        from swarmkit.django.cron import autodiscover

        autodiscover()
