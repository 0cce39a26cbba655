"""Management commands of swarmkit.django (``cron_scheduler``)."""

__all__: list[str] = []
