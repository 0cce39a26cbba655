"""``manage.py cron_scheduler``: the scheduler service (see ``swarmkit.django.scheduler``).

Runs until SIGTERM or SIGINT: the first stops new slots and waits up to
``--drain`` seconds for calls in flight, then exits 0; a second exits at once
(status 128 + signal). ``--once`` fires each job's latest slot and exits, 1 if
any of them failed, gave up or hit a configuration error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser

from swarmkit.django.conf import swarmkit_settings
from swarmkit.django.cron import CronJob, get_jobs
from swarmkit.django.scheduler import EventLog, Scheduler, check_url
from swarmkit.django.secrets import SecretError
from swarmkit.exceptions import CronError

__all__ = ["Command"]

T = TypeVar("T")

_REQUEST_MARGIN = 5.0  # a call may take the app's whole request timeout, plus transit
_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_POLL = 0.2  # how often the main thread looks at the signals it received


class Command(BaseCommand):
    """Fire each cron job at its slots by POSTing to ``SWARMKIT_CRON_URL``."""

    help = (
        "Run the cron scheduler: POST to SWARMKIT_CRON_URL<job>/?slot=<UTC> at each job's "
        "slots, one JSON log line per event, until SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="fire each job's latest slot (however old), wait for the answers and exit",
        )
        parser.add_argument("--url", help="the cron URL, instead of SWARMKIT_CRON_URL")
        parser.add_argument(
            "--job",
            action="append",
            dest="jobs",
            metavar="NAME",
            help="only this job (repeat for more); all jobs by default",
        )
        parser.add_argument(
            "--drain",
            type=float,
            default=8.0,
            help="seconds a stop waits for calls in flight (default 8: under Swarm's "
            "default stop_grace_period of 10)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"] or swarmkit_settings.CRON_URL
        if not url:
            raise CommandError(
                "SWARMKIT_CRON_URL is not set: set it to the app's cron URL, "
                "e.g. http://app:8000/api/cron/ (or pass --url)"
            )
        problem = check_url(url)
        if problem:
            raise CommandError(problem)
        try:
            key = swarmkit_settings.CRON_API_KEY
            fallbacks = swarmkit_settings.CRON_API_KEY_FALLBACKS
        except SecretError as exc:  # its message names the places, never the value
            raise CommandError(str(exc)) from None
        if not key:
            raise CommandError(
                "no cron API key: create the Docker secret 'cron_api_key' and give it to "
                "both the app and the scheduler services (or set SWARMKIT_CRON_API_KEY)"
            )
        grace = swarmkit_settings.CRON_GRACE
        timeout = swarmkit_settings.CRON_REQUEST_TIMEOUT
        if grace < 0 or timeout <= 0:
            raise CommandError(
                "SWARMKIT_CRON_GRACE must be >= 0 and SWARMKIT_CRON_REQUEST_TIMEOUT > 0"
            )
        log = EventLog(self.stdout)
        try:
            scheduler = Scheduler(
                _chosen_jobs(options["jobs"]),
                url=url,
                key=key,
                fallback_keys=fallbacks,
                log=log,
                timeout=timeout + _REQUEST_MARGIN,
                grace=grace,
                drain=options["drain"],
            )
        except CronError as exc:
            # One line, never the key: CronSettingsError's messages do not quote it.
            raise CommandError(str(exc)) from None
        stop = threading.Event()
        if options["once"]:
            outcomes = _until_signalled(lambda: scheduler.run_once(stop), stop, log)
            bad = sorted(name for name, outcome in outcomes.items()
                         if outcome not in ("succeeded", "accepted", "conflict"))  # fmt: skip
            if bad:
                raise CommandError(f"cron jobs did not run: {', '.join(bad)} (see the log)")
        else:
            _until_signalled(lambda: scheduler.run(stop), stop, log)


def _chosen_jobs(names: list[str] | None) -> list[CronJob]:
    jobs = get_jobs()
    if not jobs:
        raise CommandError(
            "no cron jobs are registered: decorate functions with @cron_job in an installed "
            "app's cron.py"
        )
    unknown = sorted(set(names or ()) - set(jobs))
    if unknown:
        raise CommandError(f"no such cron job: {', '.join(unknown)} (known: {', '.join(jobs)})")
    chosen = [jobs[name] for name in sorted(set(names or jobs))]
    broken = [job for job in chosen if job.error is not None]
    if broken:
        raise CommandError("; ".join(f"cron job {job.name!r}: {job.error}" for job in broken))
    return chosen


def _until_signalled(work: Callable[[], T], stop: threading.Event, log: EventLog) -> T:
    """Run ``work`` in a thread; the first signal sets ``stop``, a second exits at once."""
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only lock-free work here: the handler interrupts the main thread
        # anywhere, possibly while it holds a lock that Event.set would take.
        received.append(signum)
        if len(received) > 1:
            now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
            name = signal.Signals(signum).name
            line = json.dumps({"ts": now, "event": "killed", "signal": name})
            with contextlib.suppress(OSError, ValueError, AttributeError):
                os.write(sys.stdout.fileno(), line.encode() + b"\n")
            os._exit(128 + signum)

    result: list[T] = []
    errors: list[Exception] = []

    def target() -> None:
        try:
            result.append(work())
        except Exception as exc:  # re-raised in the main thread, which exits non-zero
            errors.append(exc)

    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, on_signal) for sig in _SIGNALS} if in_main else {}
    worker = threading.Thread(target=target, name="cron-scheduler")
    worker.start()
    try:
        while worker.is_alive():
            worker.join(_POLL)
            if received and not stop.is_set():
                log("signal", signal=signal.Signals(received[0]).name)
                stop.set()
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: installed outside Python, nothing to restore
                signal.signal(sig, handler)
    if errors:
        raise errors[0]
    return result[0]
