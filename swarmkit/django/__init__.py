"""Django glue for running on Docker Swarm (``pip install 'swarm-django[django]'``).

Add ``"swarmkit.django"`` to ``INSTALLED_APPS`` (app label ``swarmkit``),
``"swarmkit.django.middleware.ProbeMiddleware"`` first in ``MIDDLEWARE`` and
``path("api/", include("swarmkit.django.urls"))`` to the URLconf. In
``settings.py``::

    from swarmkit.django import database_url, secret

    SECRET_KEY = secret("secret_key")
    DATABASES = {"default": secret("database_uri", cast=database_url)}

Importing this package needs Django but not configured settings, so
``settings.py`` itself can import it.
"""

from __future__ import annotations

from swarmkit.exceptions import MissingExtraError

try:
    import django  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError("swarmkit.django", "django", "Django") from exc

from swarmkit.django.secrets import (
    MissingSecretError,
    SecretError,
    SecretFileError,
    SecretValueError,
    database_url,
    secret,
)

__all__ = [
    "MissingSecretError",
    "SecretError",
    "SecretFileError",
    "SecretValueError",
    "database_url",
    "secret",
]
