"""Real servers for the Django tests: a private PostgreSQL cluster and gunicorn.

Nothing here is mocked: ``PostgresServer`` runs Debian's PostgreSQL binaries
on a free loopback port in a temporary directory (as the ``postgres`` user
when the tests run as root), and ``Gunicorn`` runs the test project with real
worker processes. Both are stopped by their fixtures.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SETTINGS = "tests.django.project.settings"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def postgres_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` that has ``initdb``, if any."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextlib.contextmanager
def running_postgres(password: str | None = None) -> Iterator[PostgresServer]:
    """A started :class:`PostgresServer`, destroyed afterwards.

    Without PostgreSQL's binaries: a failure under ``CI=true``, else a skip.
    """
    import pytest

    bindir = postgres_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bindir, password=password)
    server.start()
    try:
        yield server
    finally:
        server.destroy()


class PostgresServer:
    """A throw-away PostgreSQL cluster on ``127.0.0.1:<port>`` with trust auth.

    With ``password``, TCP logins need a password (SCRAM-SHA-256), the
    superuser's being ``password``, as in the postgres image.
    """

    def __init__(self, bindir: Path, password: str | None = None) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="swarmkit-pg-"))
        self.datadir = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            # PostgreSQL refuses to run as root: give the cluster to the postgres user.
            os.chmod(self.root, 0o755)
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.password = password
        auth = ["--auth=trust"]
        if password is not None:
            pwfile = self.root / "pwfile"
            pwfile.write_text(password + "\n")
            os.chmod(pwfile, 0o644)
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", *auth, "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
        return done

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c max_connections=300 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-w", "-t", "30", "start",
                  "-l", str(self.root / "server.log"))  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        login = "postgres" if self.password is None else f"postgres:{self.password}"
        return f"postgresql://{login}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cur = conn.execute(statement)  # type: ignore[arg-type]
            return list(cur.fetchall()) if cur.description else []

    def create_database(self, name: str) -> str:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)


def project_env(**extra: str) -> dict[str, str]:
    """The environment a test-project process runs with."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def manage(
    env: Mapping[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``django-admin <args>`` against the test project in a new process."""
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


class Gunicorn:
    """The test project under gunicorn on ``127.0.0.1:<port>``, in its own process group."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 2,
        args: tuple[str, ...] = (),
        log: Path | None = None,
    ) -> None:
        self.env = dict(env)
        self.workers = workers
        self.args = args
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Gunicorn:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        # fmt: off
        command = [
            sys.executable, "-m", "gunicorn", "tests.django.project.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
            "--graceful-timeout", "5", *self.args,
        ]
        # fmt: on
        self.proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port)
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def kill_all(self) -> None:
        """SIGKILL the master and every worker at once, as a dying container would."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill_all()


def http(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """One real HTTP request: ``(status, headers, body)``; errors are statuses too."""
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def http_json(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    status, _, body = http(method, url, **kwargs)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


@contextlib.contextmanager
def running(server: Gunicorn) -> Iterator[Gunicorn]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
