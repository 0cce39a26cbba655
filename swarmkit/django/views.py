"""The cron endpoint: ``POST <prefix>cron/<job>/?slot=2026-01-01T00:05:00Z``.

Statuses: 401 no valid ``Authorization: Bearer <key>`` (checked before
anything else, so it reveals nothing about jobs), 404 unknown job, 400 bad
slot (malformed, or outside the bounds of
:func:`~swarmkit.django.runs.check_slot`), 405 not POST, 409
``{"reason": "running" | "done"}``, 200 ran, 202 started in the background,
500 the job raised or its run was lost. The exactly-once logic is in
:mod:`swarmkit.django.runs`.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from swarmkit.django.conf import CRON_KEY_STRIP, swarmkit_settings
from swarmkit.django.cron import get_job
from swarmkit.django.runs import (
    Conflict,
    RunResult,
    SlotError,
    check_slot,
    format_slot,
    job_problem,
    parse_slot,
    run_slot,
)
from swarmkit.django.secrets import SecretError

__all__ = ["cron_view"]

logger = logging.getLogger("swarmkit.cron")

_HTTP_STATUS = {"running": 202, "succeeded": 200, "failed": 500, "lost": 500}


def _json(status: int, data: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(data, status=status)
    # A run's outcome must never be served from a cache to a second caller.
    response["Cache-Control"] = "no-store"
    return response


def _api_key() -> bytes | None:
    try:
        key = swarmkit_settings.CRON_API_KEY
    except SecretError as exc:
        # One line, no traceback: the message names where the key was looked for, never it.
        logger.error("cron API key unreadable, every cron call is refused: %s", exc)
        return None
    return key.encode() if key else None


def _fallback_keys() -> list[bytes]:
    try:
        return [key.encode() for key in swarmkit_settings.CRON_API_KEY_FALLBACKS]
    except SecretError as exc:
        logger.error("cron API key fallbacks unreadable, only the key is accepted: %s", exc)
        return []


def _authorized(request: HttpRequest) -> bool:
    key = _api_key()
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    # The same rule as the configured key's (conf.CRON_KEY_STRIP), so a key
    # that is accepted at all can match. compare_digest on bytes: the time
    # taken does not depend on how much of the key matches. The fallbacks
    # (the previous key, during a rotation) are compared all, every time.
    presented = supplied.strip(CRON_KEY_STRIP).encode()
    matches = hmac.compare_digest(presented, key or b"\0")
    for fallback in _fallback_keys() if key is not None else ():
        matches = hmac.compare_digest(presented, fallback) or matches
    return key is not None and scheme.lower() == "bearer" and matches


def _result_body(result: RunResult) -> dict[str, Any]:
    return {
        "job": result.job,
        "slot": format_slot(result.slot),
        "run_id": str(result.run_id),
        "status": result.status,
        "duration_ms": result.duration_ms,
    }


def _conflict_body(conflict: Conflict) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job": conflict.job,
        "slot": format_slot(conflict.slot),
        "reason": conflict.reason,
    }
    if conflict.status is not None:
        body["status"] = conflict.status
    return body


@csrf_exempt  # called by the scheduler with a bearer key, never by a browser
@transaction.non_atomic_requests  # the lease and run record must commit before the job runs
def cron_view(request: HttpRequest, job: str) -> HttpResponse:
    """Run one slot of the cron job ``job`` (or, without ``?slot=``, run it now by hand)."""
    if request.method != "POST":
        response = _json(405, {"error": "use POST"})
        response["Allow"] = "POST"
        return response
    if not _authorized(request):
        response = _json(401, {"error": "a valid 'Authorization: Bearer <key>' is required"})
        response["WWW-Authenticate"] = 'Bearer realm="swarmkit-cron"'
        return response
    found = get_job(job)
    if found is None:
        return _json(404, {"error": f"no cron job named {job!r}"})
    problem = job_problem(found)
    if problem is not None:
        return _json(400, {"error": f"cron job {job!r} is misconfigured: {problem}"})
    slot_text = request.GET.get("slot")
    slot = None
    if slot_text is not None:
        try:
            slot = parse_slot(slot_text)
            check_slot(found, slot)
        except SlotError as exc:
            return _json(400, {"error": str(exc)})
    outcome = run_slot(found, slot)
    if isinstance(outcome, Conflict):
        return _json(409, _conflict_body(outcome))
    return _json(_HTTP_STATUS[outcome.status], _result_body(outcome))


# ProbeMiddleware serves views with this mark before host validation and the
# SSL redirect: the scheduler calls over plain HTTP on the overlay network.
cron_view.swarmkit_bypass = True  # type: ignore[attr-defined]
