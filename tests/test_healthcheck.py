"""``python -m swarmkit.healthcheck`` against real servers, as Docker runs it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from swarmkit import healthcheck

ROOT = Path(__file__).resolve().parent.parent


class Handler(BaseHTTPRequestHandler):
    """``/ok`` 200, ``/moved`` 301 to ``/ok``, ``/down`` 503, anything else 404."""

    def do_GET(self) -> None:
        if self.path == "/ok":
            self.send_response(200)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/ok")
        elif self.path == "/down":
            self.send_response(503)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarmkit.healthcheck", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )


def assert_one_line_failure(done: subprocess.CompletedProcess[str], reason: str) -> None:
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("swarmkit.healthcheck: ")
    assert reason in lines[0]
    assert "Traceback" not in done.stderr


def test_2xx_is_healthy(site: str) -> None:
    done = run(f"{site}/ok")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_503_is_unhealthy(site: str) -> None:
    assert_one_line_failure(run(f"{site}/down"), "answered 503 Service Unavailable")


def test_redirects_are_not_followed(site: str) -> None:
    assert_one_line_failure(run(f"{site}/moved"), "answered 301")


def test_connection_refused(closed_port: int) -> None:
    assert_one_line_failure(run(f"http://127.0.0.1:{closed_port}/"), "connection refused")


def test_a_server_that_never_answers_times_out() -> None:
    # Listening but never accepting: the connection succeeds, no answer comes.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        done = run(url, "--timeout", "0.5")
    assert_one_line_failure(done, "no answer within 0.5s")


def test_url_from_the_environment(site: str, closed_port: int) -> None:
    env = dict(os.environ, SWARMKIT_HEALTHCHECK_URL=f"{site}/ok")
    assert run(env=env).returncode == 0
    # An argument wins over the environment.
    refused = run(f"http://127.0.0.1:{closed_port}/", env=env)
    assert_one_line_failure(refused, "connection refused")


def test_default_url() -> None:
    assert healthcheck.DEFAULT_URL == "http://127.0.0.1:8000/api/alive/"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--timeout", "0"), "not a positive number"),
        (("--timeout", "soon"), "not a number"),
        (("ftp://127.0.0.1/",), "not an http(s) URL"),
        (("http://127.0.0.1:99999/",), "bad port"),
        (("a", "b"), "unrecognized arguments"),
    ],
)
def test_bad_usage_is_unhealthy_not_exit_2(args: tuple[str, ...], reason: str) -> None:
    # Docker reserves exit status 2.
    assert_one_line_failure(run(*args), reason)


def test_imports_only_the_standard_library(site: str) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "swarmkit.healthcheck", f"{site}/ok"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    imported = set(re.findall(r"\|\s+(\S+)$", done.stderr, flags=re.MULTILINE))
    assert "http.client" in imported  # the parsing works
    heavy = {name for name in imported if name.split(".")[0] in {"pydantic", "yaml", "django"}}
    assert heavy == set()


def test_check_function(site: str, closed_port: int) -> None:
    assert healthcheck.check(f"{site}/ok") is None
    assert healthcheck.check(f"{site}/down") == "answered 503 Service Unavailable"
    assert healthcheck.check(f"http://127.0.0.1:{closed_port}/") == "connection refused"


def test_against_gunicorn_before_and_after_migrate(tmp_path: Path) -> None:
    """The real thing: the test project under gunicorn, 503 until migrated, then 0."""
    pytest.importorskip("django")
    from tests.django.servers import Gunicorn, manage, project_env

    env = project_env(
        DATABASE_URI=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SWARMKIT_STATE_DIR=str(tmp_path / "state"),
        SWARMKIT_HEALTH_TTL="0",
    )
    server = Gunicorn(env, workers=1, log=tmp_path / "gunicorn.log").start()
    try:
        alive = f"{server.base}/api/alive/"
        assert_one_line_failure(run(alive), "answered 503 Service Unavailable")
        manage(env, "migrate", "--noinput")
        done = run(alive)
        assert (done.returncode, done.stderr) == (0, "")
        assert run(f"{server.base}/api/ready/").returncode == 0
    finally:
        server.stop()
