"""``ProbeMiddleware``: health probes and cron calls that bypass the rest of the stack.

Put it first in ``MIDDLEWARE`` (system checks E003/E004 say so)::

    MIDDLEWARE = [
        "swarmkit.django.middleware.ProbeMiddleware",
        "django.middleware.security.SecurityMiddleware",
        ...
    ]

Swarm's healthcheck calls ``http://127.0.0.1:8000/api/alive/`` from inside
the container and the scheduler POSTs to ``http://app:8000/api/cron/<job>/``:
plain HTTP with a Host that is not in ``ALLOWED_HOSTS``. Host validation and
``SECURE_SSL_REDIRECT`` rightly refuse such requests, so this middleware
answers them before any other middleware runs:

- ``SWARMKIT_ALIVE_PATH`` (``/api/alive/``): 200 ``{"status": "alive"}`` once
  the container has been ready, 503 ``{"status": "starting"}`` before.
- ``SWARMKIT_READY_PATH`` (``/api/ready/``): 200 or 503 with
  ``{"status": "ready" | "unready", "checks": {...}}``.
- The cron endpoint of ``swarmkit.django.urls`` (the view marked
  ``swarmkit_bypass``), wherever the URLconf includes it.

Every other request goes on to the next middleware after two string
comparisons and a prefix test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, resolve, reverse

from swarmkit.django import health
from swarmkit.django.conf import swarmkit_settings

__all__ = ["ProbeMiddleware"]

_METHODS: Final = ("GET", "HEAD")
_ALIVE: Final = b'{"status": "alive"}'
_STARTING: Final = b'{"status": "starting"}'
_NOT_ALLOWED: Final = b'{"status": "method not allowed"}'


class _Routes:
    """The probe paths and the cron prefix, read once per change of settings."""

    __slots__ = ("alive", "cron", "cron_known", "ready")

    def __init__(self) -> None:
        self.alive = swarmkit_settings.ALIVE_PATH
        self.ready = swarmkit_settings.READY_PATH
        # Found on the first request: the URLconf may not be importable while
        # middleware is being instantiated.
        self.cron: str | None = None
        self.cron_known = False

    def find_cron(self) -> str | None:
        try:
            url = reverse("swarmkit:cron", kwargs={"job": "x"})
        except NoReverseMatch:
            url = ""
        # reverse() includes SCRIPT_NAME; request.path_info does not.
        script = get_script_prefix()
        if url.startswith(script) and url.endswith("/x/"):
            self.cron = "/" + url[len(script) : -2]
        self.cron_known = True
        return self.cron


_routes: _Routes | None = None


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _routes  # noqa: PLW0603 - one process-wide snapshot, rebuilt on change
    if setting.startswith("SWARMKIT_") or setting == "ROOT_URLCONF":
        _routes = None


def _get_routes() -> _Routes:
    global _routes  # noqa: PLW0603
    routes = _routes
    if routes is None:
        routes = _routes = _Routes()
    return routes


def _json(body: bytes, status: int = 200) -> HttpResponse:
    # no-store: a cached "alive" or "ready" answer is a wrong answer.
    return HttpResponse(
        body,
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _not_allowed() -> HttpResponse:
    response = _json(_NOT_ALLOWED, 405)
    response["Allow"] = ", ".join(_METHODS)
    return response


class ProbeMiddleware:
    """Answers the alive and ready probes and dispatches cron calls, ahead of all else.

    Sync only: under ASGI Django runs it in a thread, as it must the
    database checks anyway.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        routes = _routes or _get_routes()
        if path == routes.alive:
            if request.method not in _METHODS:
                return _not_allowed()
            if health.is_alive():
                return _json(_ALIVE)
            return _json(_STARTING, 503)
        if path == routes.ready:
            if request.method not in _METHODS:
                return _not_allowed()
            result = health.readiness()
            return _json(result.body, 200 if result.ready else 503)
        cron = routes.cron if routes.cron_known else routes.find_cron()
        if cron is not None and path.startswith(cron):
            response = self._cron(request, path)
            if response is not None:
                return response
        return self.get_response(request)

    def _cron(self, request: HttpRequest, path: str) -> HttpResponse | None:
        try:
            match = resolve(path)
        except Resolver404:
            return None  # the normal stack answers 404, host validation included
        if not getattr(match.func, "swarmkit_bypass", False):
            return None
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        return response
