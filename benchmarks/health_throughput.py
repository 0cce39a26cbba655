"""Throughput of the health probes against a bare view and two popular apps; record it.

One run, one private PostgreSQL, one gunicorn (2 sync workers) serving the
test project with django-alive and django-health-check installed too. wrk
(``apt-get install wrk``) loads each endpoint in turn, in rounds so that any
drift of the machine hits every endpoint alike:

- ``/bare/``: a view that returns "ok" through the whole middleware stack,
  the limit anything Django serves can reach;
- ``/api/alive/`` and ``/api/ready/``: swarmkit's ProbeMiddleware;
- ``/-/health/``: django-alive's health view (a ``SELECT 1`` per request);
- ``/ht/``: django-health-check's view with its Database check.

Every request carries ``Host: app.example.com`` and ``X-Forwarded-Proto:
https`` so the bare view is not redirected. During each run the script
reads ``pg_stat_database`` to count the transactions and sessions the
endpoint cost the database. The figures replace the block between the
markers in docs/benchmarks.md.

Needs the ``bench`` dependency group (``pip install django-alive
django-health-check``) and PostgreSQL's server binaries; installs nothing.

    python benchmarks/health_throughput.py [--duration 10] [--rounds 3] [--no-write]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from doc_blocks import replace_block

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.django.servers import (  # noqa: E402 - needs the repository on sys.path
    Gunicorn,
    PostgresServer,
    http,
    manage,
    postgres_bindir,
    project_env,
)

HEADING = "## Health probes against a bare view, django-alive and django-health-check"
WORKERS = 2
TTL = 2.0
HEADERS = {
    "Host": "app.example.com",
    "X-Forwarded-Proto": "https",
    "Accept": "application/json",
}
ENDPOINTS = {
    "bare Django view (the limit)": "/bare/",
    "swarmkit alive": "/api/alive/",
    "swarmkit ready": "/api/ready/",
    "django-alive `/-/health/`": "/-/health/",
    "django-health-check, Database": "/ht/",
}
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    transactions: int
    sessions: int
    seconds: float


def wrk(url: str, duration: float, connections: int, threads: int) -> tuple[float, float, float]:
    """``(requests/s, p50 ms, p99 ms)``; refuses a run with non-2xx answers or socket errors."""
    headers = [arg for name, value in HEADERS.items() for arg in ("-H", f"{name}: {value}")]
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    done = subprocess.run(
        [*command, *headers, url],
        check=True,
        capture_output=True,
        text=True,
    )
    out = done.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk run against {url} was not clean:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)$", out, flags=re.MULTILINE)
        assert found, out
        return float(found.group(1)) * UNITS[found.group(2)]

    return rps, percentile("50"), percentile("99")


def stats(server: PostgresServer, database: str) -> tuple[int, int]:
    # Read from the postgres database so the reading is not counted.
    rows = server.sql(
        f"SELECT xact_commit, sessions FROM pg_stat_database WHERE datname = '{database}'"
    )
    return int(rows[0][0]), int(rows[0][1])


def measure(
    base: str, path: str, pg: PostgresServer, database: str, options: argparse.Namespace
) -> Run:
    wrk(base + path, 2, options.connections, options.threads)  # warm up, not counted
    time.sleep(TTL + 0.5)  # every cached readiness result has expired
    before = stats(pg, database)
    started = time.monotonic()
    rps, p50, p99 = wrk(base + path, options.duration, options.connections, options.threads)
    seconds = time.monotonic() - started
    time.sleep(1.5)  # backends report their counters when their sessions end
    after = stats(pg, database)
    return Run(rps, p50, p99, after[0] - before[0], after[1] - before[1], seconds)


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            f"{distribution} is not installed: pip install django-alive django-health-check"
        ) from None


def render(results: dict[str, list[Run]], options: argparse.Namespace, pg_version: str) -> str:
    bare_rps = statistics.median(run.rps for run in results[next(iter(ENDPOINTS))])
    lines = [
        "| endpoint | req/s | vs bare | p50 | p99 | DB transactions / s |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        rps = statistics.median(run.rps for run in runs)
        p50 = statistics.median(run.p50_ms for run in runs)
        p99 = statistics.median(run.p99_ms for run in runs)
        per_second = statistics.median(run.transactions / run.seconds for run in runs)
        lines.append(
            f"| {name} | {rps:,.0f} | {rps / bare_rps:.0%} | {p50:.2f} ms | {p99:.2f} ms "
            f"| {per_second:,.1f} |"
        )
    ready = results["swarmkit ready"]
    seconds = sum(run.seconds for run in ready)
    windows = seconds / TTL * WORKERS
    # A window of d seconds holds at most d / TTL + 1 checks per process.
    bound = sum((run.seconds / TTL + 1) * WORKERS for run in ready)
    sessions = sum(run.sessions for run in ready)
    statements = sum(run.transactions - run.sessions for run in ready)
    lines += [
        "",
        f"Ready's database cost, counted in `pg_stat_database` over {seconds:.0f} s of load "
        f"(TTL {TTL:g} s, {WORKERS} workers, so {windows:.0f} TTL windows and at most "
        f"{bound:.0f} checks): {sessions} checks (each opens one session with "
        f"`CONN_MAX_AGE = 0`), {sessions / windows:.2f} per TTL per process, and "
        f"{statements / max(sessions, 1):.2f} statements per check (transactions minus "
        "session start-ups; the statement is `SELECT 1`, anything above 1 is background "
        "work such as autovacuum). django-alive and django-health-check query the "
        "database on every request.",
        "",
        f"Median of {options.rounds} rounds of `wrk -t{options.threads} -c{options.connections} "
        f"-d{options.duration:g}s --latency`, gunicorn {version('gunicorn')} with {WORKERS} sync "
        f"workers, Django {version('Django')}, django-alive {version('django-alive')}, "
        f"django-health-check {version('django-health-check')}, PostgreSQL {pg_version} "
        f"(`CONN_MAX_AGE = 0`), Python {platform.python_version()}, {os.cpu_count()} cores "
        f"shared by wrk, gunicorn and PostgreSQL, measured {time.strftime('%Y-%m-%d')} "
        "by `benchmarks/health_throughput.py`.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    for distribution in ("django-alive", "django-health-check"):
        version(distribution)
    bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")

    pg = PostgresServer(bindir)
    pg.start()
    try:
        database = "bench"
        url = pg.create_database(database)
        # As production servers usually run: Django then skips a set_config(TimeZone)
        # on every new connection, for every endpoint alike.
        pg.sql(f"ALTER DATABASE {database} SET TimeZone = 'UTC'")
        pg_version = str(pg.sql("SHOW server_version")[0][0]).split()[0]
        with tempfile.TemporaryDirectory(prefix="swarmkit-bench-") as tmp:
            env = project_env(
                DATABASE_URI=url,
                TEST_EXTRA_APPS="django_alive,health_check",
                SWARMKIT_STATE_DIR=str(Path(tmp) / "state"),
                SWARMKIT_HEALTH_TTL=str(TTL),
                TEST_LOG_LEVEL="ERROR",
            )
            manage(env, "migrate", "--noinput")
            server = Gunicorn(env, workers=WORKERS, log=Path(tmp) / "gunicorn.log").start()
            try:
                for path in ENDPOINTS.values():
                    status, _, body = http("GET", server.base + path, headers=HEADERS)
                    if status != 200:
                        raise SystemExit(f"{path} answered {status}: {body[:200]!r}")
                results: dict[str, list[Run]] = {name: [] for name in ENDPOINTS}
                for round_number in range(1, options.rounds + 1):
                    for name, path in ENDPOINTS.items():
                        run = measure(server.base, path, pg, database, options)
                        results[name].append(run)
                        print(
                            f"round {round_number} {name}: {run.rps:,.0f} req/s "
                            f"p50 {run.p50_ms:.2f} ms p99 {run.p99_ms:.2f} ms, "
                            f"{run.transactions} transactions, {run.sessions} sessions",
                            flush=True,
                        )
            finally:
                server.stop()
    finally:
        pg.destroy()

    block = render(results, options, pg_version)
    print(block)
    if not options.no_write:
        replace_block("health-throughput", block, heading=HEADING)
    return 0


if __name__ == "__main__":
    sys.exit(main())
