"""The cron scheduler: fires each job's slots by POSTing to the app's cron endpoint.

Run by ``python manage.py cron_scheduler`` as a one-replica Swarm service
(docs/django-scheduler.md). It holds no state: the endpoint runs each
``(job, slot)`` at most once, so a restarted scheduler, or two at once,
cannot run a slot twice.

**Missed slots: no backlog replay.** A slot is fired only if the scheduler
sees it at most ``grace`` seconds (``SWARMKIT_CRON_GRACE``) after its time.
At start-up each job's latest slot is due: fired within the grace (a
scheduler restarted by an update or a lost node; if the old one fired it,
the endpoint answers 409 done), else ``skipped``. Earlier slots are never
replayed. If the loop wakes late (clock jump, stalled host), only the latest
due slot is fired and the ones passed over are logged once, with a count.

**Retries.** Each firing runs in its own thread, so a long job never delays
another job's slot. A call that fails in transit (connection error, timeout,
408, 429, a 5xx without the endpoint's JSON) is retried after 1, 2, 4 ...
seconds (capped at 30) while the retry starts before the job's next slot
(which its call must find the lease free for) and within ``grace`` seconds
of the first attempt; then ``gave_up``. An answer that settles the slot
(200, 202, 500 with the endpoint's JSON, 409) is never retried; 3xx and
other 4xx are ``config_error``. Redirects are never followed. A slot whose
previous call is still in flight is fired anyway: the endpoint's lease
decides, and a call stuck on a dead connection cannot block the job.

**Log.** One JSON object per line: ``ts`` (UTC), ``event`` and, where known,
``job``, ``slot``, ``attempt``, ``code``, ``run_id``, ``duration_ms`` ...;
never the API key.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from swarmkit._version import __version__
from swarmkit.django.conf import CRON_KEY_STRIP, cron_key_problem
from swarmkit.django.cron import CronJob
from swarmkit.django.cron_answers import Outcome, Verdict, check_url, classify
from swarmkit.exceptions import CronScheduleError, CronSettingsError

__all__ = [
    "EventLog",
    "Outcome",
    "Scheduler",
    "SlotPlan",
    "Verdict",
    "check_url",
    "classify",
    "plan_slots",
    "retry_delay",
]

_UTC = dt.UTC
_MAX_SLEEP = 1.0  # the loop re-reads the wall clock at least this often (clock jumps)
_SKIP_COUNT_LIMIT = 1000  # counting passed-over slots is O(n); a big clock jump stops here
_MAX_BODY = 64 * 1024


def _now() -> dt.datetime:
    return dt.datetime.now(_UTC)


def _slot_text(slot: dt.datetime) -> str:
    """``slot`` as the endpoint takes it: ``2026-01-01T00:05:00Z``."""
    return slot.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_delay(attempt: int, *, base: float = 1.0, cap: float = 30.0) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, 4 ... capped)."""
    return float(min(cap, base * 2 ** max(attempt - 1, 0)))


class _Stream(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> None: ...


class EventLog:
    """Writes one JSON object per line to ``stream``; thread-safe."""

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream
        self._lock = threading.Lock()  # firing threads log at once; lines must not interleave

    def __call__(self, event: str, **fields: Any) -> None:
        """Log ``event`` with ``fields``; ``None`` values are left out."""
        record: dict[str, Any] = {"ts": _now().isoformat(timespec="milliseconds")[:-6] + "Z"}
        record["event"] = event
        for key, value in fields.items():
            if value is None:
                continue
            record[key] = _slot_text(value) if isinstance(value, dt.datetime) else value
        line = json.dumps(record, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


@dataclass(frozen=True)
class SlotPlan:
    """What to do for one job when the loop wakes: fire ``fire`` (if any), wait for ``next``.

    ``skipped`` slots (``first_skipped`` the oldest) are passed over; the count
    stops at a limit, and ``capped`` says so.
    """

    fire: dt.datetime | None
    next: dt.datetime
    skipped: int = 0
    first_skipped: dt.datetime | None = None
    capped: bool = False


def plan_slots(job: CronJob, cursor: dt.datetime, now: dt.datetime, grace: float) -> SlotPlan:
    """The plan for ``job`` whose oldest unhandled slot is ``cursor``, at ``now``.

    Only the latest slot at or before ``now`` may be fired, and only if it is
    at most ``grace`` seconds old; every other due slot is skipped.
    """
    if cursor > now:
        # Nothing due (or the clock went back: those slots were handled before).
        return SlotPlan(fire=None, next=cursor)
    latest = job.latest_slot(now)
    upcoming = job.next_slot(now)
    skipped, slot = 0, cursor
    while slot < latest and skipped < _SKIP_COUNT_LIMIT:
        skipped += 1
        slot = job.next_slot(slot)
    capped = slot < latest
    first = cursor if skipped else None
    if (now - latest).total_seconds() <= grace:
        return SlotPlan(latest, upcoming, skipped, first, capped)
    return SlotPlan(None, upcoming, skipped + 1, first or latest, capped)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Returning None makes urllib raise the 3xx as an HTTPError: a cron call
    # must never be sent on, with its key, to wherever a redirect points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Scheduler:
    """Fires ``jobs`` at their slots by POSTing to ``<url><job>/?slot=<UTC ISO>``.

    ``url`` ends in ``/`` (:func:`check_url`); ``key`` is the bearer key
    (stripped as the endpoint strips it, printable ASCII), ``fallback_keys``
    the previous ones during a rotation: a call sends them first and the
    next on a 401, so while the app and the scheduler roll to a new key (the
    app accepting the previous one as a fallback) no call is refused:
    :class:`~swarmkit.exceptions.CronSettingsError` when either is unusable,
    :class:`~swarmkit.exceptions.CronScheduleError` for an invalid job. ``timeout`` bounds one
    call (the app's request timeout plus a margin); ``grace`` is the missed-slot
    and retry window (see the module docstring); ``drain`` is how long a stop
    waits for calls in flight; ``log`` receives the events.
    """

    def __init__(
        self,
        jobs: Iterable[CronJob],
        *,
        url: str,
        key: str,
        fallback_keys: Sequence[str] = (),
        log: EventLog,
        timeout: float = 35.0,
        grace: float = 60.0,
        drain: float = 8.0,
    ) -> None:
        problem = check_url(url)
        if problem:
            raise CronSettingsError(problem, hint="set SWARMKIT_CRON_URL (or pass --url)")
        key = key.strip(CRON_KEY_STRIP)
        problem = cron_key_problem(key) if key else "the cron API key is empty"
        if problem:
            # Checked here: http.client would refuse it later quoting the whole header.
            raise CronSettingsError(problem, hint="fix the secret cron_api_key")
        fallbacks = [k.strip(CRON_KEY_STRIP) for k in fallback_keys if k.strip(CRON_KEY_STRIP)]
        for fallback in fallbacks:
            problem = cron_key_problem(fallback)
            if problem:
                raise CronSettingsError(problem, hint="fix the secret cron_api_key_fallbacks")
        self.jobs = sorted(jobs, key=lambda job: job.name)
        for job in self.jobs:
            if job.error is not None:
                raise CronScheduleError(job.error, job=job.name)
        self.url, self.timeout, self.grace, self.drain = url, timeout, grace, drain
        self._key = key
        # The oldest first: during a rotation both the old and the new app accept it.
        self._keys = [*dict.fromkeys([*fallbacks, key])]
        self._log = log
        # No proxies from the environment: the app is a service on the stack's network.
        self._opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
        self._lock = threading.Lock()
        self._flights: dict[str, list[tuple[dt.datetime, threading.Thread]]] = {}
        self._outcomes: dict[str, str] = {}

    def run(self, stop: threading.Event) -> None:
        """Fire slots until ``stop`` is set, then wait up to ``drain`` s for calls in flight."""
        self._started(once=False)
        start = _now()
        cursors = {job.name: job.latest_slot(start) for job in self.jobs}
        reason = "older than the grace at start-up"
        while not stop.is_set():
            now = _now()
            for job in self.jobs:
                plan = plan_slots(job, cursors[job.name], now, self.grace)
                if plan.skipped:
                    self._log("skipped", job=job.name, count=plan.skipped, first=plan.first_skipped,
                              capped=plan.capped or None, reason=reason)  # fmt: skip
                if plan.fire is not None:
                    self._launch(job, plan.fire, stop)
                cursors[job.name] = plan.next
            reason = "the loop woke late (clock jump or stalled host)"
            wake = (min(cursors.values()) - _now()).total_seconds()
            stop.wait(min(max(wake, 0.0), _MAX_SLEEP))
        self._drain()

    def run_once(self, stop: threading.Event) -> dict[str, str]:
        """Fire each job's latest slot, however old, and wait for every firing to end.

        Failed calls are retried for ``grace`` seconds, even past the job's next slot.

        Returns each job's final outcome (an :data:`Outcome`, ``gave_up`` or ``error``).
        """
        self._started(once=True)
        now = _now()
        for job in self.jobs:
            # No later slot follows in this process: retry for the whole grace.
            self._launch(job, job.latest_slot(now), stop, window=self.grace)
        for thread in self._threads():
            thread.join()
        self._log("stopped", abandoned=0)
        with self._lock:
            return dict(self._outcomes)

    def _started(self, *, once: bool) -> None:
        schedules = {job.name: job.schedule for job in self.jobs}
        self._log("started", url=self.url, once=once or None, grace=self.grace,
                  timeout=self.timeout, jobs=schedules)  # fmt: skip

    def _threads(self) -> list[threading.Thread]:
        with self._lock:
            return [t for flights in self._flights.values() for _, t in flights if t.is_alive()]

    def _launch(
        self, job: CronJob, slot: dt.datetime, stop: threading.Event, window: float | None = None
    ) -> None:
        thread = threading.Thread(
            target=self._fire,
            args=(job, slot, stop, window),
            name=f"cron-{job.name}-{_slot_text(slot)}",
            daemon=True,  # a call stuck past the drain must not keep the process alive
        )
        with self._lock:
            flights = [f for f in self._flights.get(job.name, []) if f[1].is_alive()]
            self._flights[job.name] = [*flights, (slot, thread)]
        in_flight = [_slot_text(s) for s, _ in flights] or None
        late_ms = round((_now() - slot).total_seconds() * 1000)
        self._log("fired", job=job.name, slot=slot, late_ms=late_ms, in_flight=in_flight)
        thread.start()

    def _fire(
        self, job: CronJob, slot: dt.datetime, stop: threading.Event, window: float | None
    ) -> None:
        if window is None:
            # Retrying into the next slot would take the lease that slot's call needs.
            window = min(self.grace, (job.next_slot(slot) - _now()).total_seconds())
        # Monotonic deadline: a wall-clock step must not stretch or cut the window.
        deadline = time.monotonic() + window
        try:
            outcome = self._attempts(job, slot, stop, deadline)
        except Exception as exc:  # a bug must reach the log, not just stderr
            self._log("error", job=job.name, slot=slot, error=self._redacted(exc))
            outcome = "error"
        with self._lock:
            self._outcomes[job.name] = outcome

    def _redacted(self, exc: Exception) -> str:
        """``Type: message``, or only the type if the message shows any of the key."""
        text = f"{type(exc).__name__}: {exc}"
        if any(k in text or repr(k)[1:-1] in text for k in self._keys):
            return f"{type(exc).__name__} (message withheld: it contained the API key)"
        return text

    def _attempts(
        self, job: CronJob, slot: dt.datetime, stop: threading.Event, deadline: float
    ) -> str:
        attempt = 0
        while True:
            attempt += 1
            outcome, fields = self._call(job, slot)
            if outcome != "retry":
                self._log(outcome, job=job.name, slot=slot, attempt=attempt, **fields)
                return outcome
            delay = retry_delay(attempt)
            if stop.is_set() or time.monotonic() + delay >= deadline:
                reason = "stopping" if stop.is_set() else "retry window over"
                self._log("gave_up", job=job.name, slot=slot, attempt=attempt, reason=reason,
                          **fields)  # fmt: skip
                return "gave_up"
            self._log("retry", job=job.name, slot=slot, attempt=attempt, delay=delay, **fields)
            if stop.wait(delay):
                self._log("gave_up", job=job.name, slot=slot, attempt=attempt, reason="stopping")
                return "gave_up"

    def _call(self, job: CronJob, slot: dt.datetime) -> tuple[Outcome, dict[str, Any]]:
        for index, key in enumerate(self._keys):
            outcome, fields = self._call_with(key, job, slot)
            if fields.get("code") != 401 or index == len(self._keys) - 1:
                return outcome, fields
        raise AssertionError("unreachable: there is always a key")  # pragma: no cover

    def _call_with(
        self, key: str, job: CronJob, slot: dt.datetime
    ) -> tuple[Outcome, dict[str, Any]]:
        name = urllib.parse.quote(job.name, safe="")
        request = urllib.request.Request(  # noqa: S310 - check_url allowed http(s) only
            f"{self.url}{name}/?slot={_slot_text(slot)}",
            data=b"",
            method="POST",
            headers={
                "Authorization": f"Bearer {key}",
                "Accept": "application/json",
                "User-Agent": f"swarmkit-cron-scheduler/{__version__}",
            },
        )
        code: int | None = None
        body, location, error = b"", None, None
        started = time.monotonic()
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                code, body = response.status, response.read(_MAX_BODY)
        except urllib.error.HTTPError as exc:
            code, location = exc.code, exc.headers.get("Location")
            try:
                body = exc.read(_MAX_BODY)
            except (OSError, http.client.HTTPException):
                body = b""  # an unreadable body: classified on the status alone
            finally:
                exc.close()
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
        elapsed_ms = round((time.monotonic() - started) * 1000)
        # Before classify cuts the body to its first 200 bytes, which could
        # split the key and leave a prefix of it that no replace would find.
        for each in self._keys:
            body = body.replace(each.encode(), b"<the API key>")
        verdict = classify(code, body, location)
        fields = {"code": code, "error": error, "elapsed_ms": elapsed_ms, **verdict.fields}
        # The body is logged as the answer's detail: a proxy or a debug page
        # that echoes the request's headers must not put the key in the log.
        return verdict.outcome, {name: self._scrubbed(value) for name, value in fields.items()}

    def _scrubbed(self, value: Any) -> Any:
        """``value`` (from an answer) with the API key replaced wherever it appears."""
        if isinstance(value, str):
            for key in self._keys:
                value = value.replace(key, "<the API key>")
            return value
        if isinstance(value, Mapping):
            return {self._scrubbed(k): self._scrubbed(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrubbed(item) for item in value]
        return value

    def _drain(self) -> None:
        threads = self._threads()
        self._log("stopping", in_flight=len(threads), drain=self.drain)
        deadline = time.monotonic() + self.drain
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._log("stopped", abandoned=sum(t.is_alive() for t in threads))
