"""The installed version of swarm-django (stdlib only, read by the build backend)."""

__version__ = "0.1.0"
