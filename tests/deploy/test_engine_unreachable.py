"""An engine that does not answer: one line with the URL tried, why, and what to do.

No engine needed: the addresses below have none (a closed port, a missing
socket, a malformed DOCKER_HOST); the causes the SDK wraps are built here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import requests

from swarmkit.deploy.engine import public_url, unreachable_error

SDK_CHAIN = ("HTTPConnectionPool", "NewConnectionError", "Max retries", "urllib3", "Traceback")


def swarmkit(*args: str, docker_host: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_HOST": docker_host}
    return subprocess.run(
        [sys.executable, "-m", "swarmkit", *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("swarmkit: error: "), lines[0]
    for part in SDK_CHAIN:
        assert part not in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", [["status", "x"], ["top", "x"], ["logs", "x"]])
def test_closed_port_is_one_line_naming_docker_host(command: list[str]) -> None:
    line = one_error_line(swarmkit(*command, docker_host="tcp://127.0.0.1:1"))
    assert (
        "cannot reach a Docker Engine at tcp://127.0.0.1:1 (DOCKER_HOST): connection refused"
        in line
    )
    assert "check DOCKER_HOST" in line


def test_malformed_docker_host_gets_a_docker_host_hint_not_start_dockerd() -> None:
    line = one_error_line(swarmkit("status", "x", docker_host="bogus"))
    assert "DOCKER_HOST 'bogus' is not an engine address" in line
    assert "ssh://user@manager" in line and "unset it" in line
    assert "start dockerd" not in line


def test_credentials_in_docker_host_are_never_shown() -> None:
    for host in ("tcp://deploy:s3cr3t-pw@127.0.0.1:1", "https://tok:s3cr3t-pw@127.0.0.1:1"):
        line = one_error_line(swarmkit("status", "x", docker_host=host))
        assert "s3cr3t-pw" not in line, line
        assert "***" in line, line


def test_missing_socket_of_docker_host() -> None:
    line = one_error_line(swarmkit("status", "x", docker_host="unix:///nonexistent/docker.sock"))
    assert "unix:///nonexistent/docker.sock (DOCKER_HOST): no such socket" in line


def sdk_error(cause: BaseException) -> Exception:
    """What docker.from_env raises: a DockerException over requests over the OSError."""
    import docker.errors

    try:
        try:
            raise cause
        except BaseException as exc:
            raise requests.exceptions.ConnectionError("HTTPConnectionPool(host=...)") from exc
    except requests.exceptions.ConnectionError as exc:
        try:
            raise docker.errors.DockerException(
                f"Error while fetching server API version: {exc}"
            ) from exc
        except docker.errors.DockerException as outer:
            return outer


@pytest.mark.parametrize(
    ("host", "cause", "why", "hint"),
    [
        ("", FileNotFoundError(2, "No such file or directory"),
         "unix:///var/run/docker.sock (the local socket; DOCKER_HOST is unset): no such socket",
         "start dockerd"),
        ("", PermissionError(13, "Permission denied"), "permission denied on the socket", "docker group"),
        ("tcp://shop.invalid:2376", socket.gaierror(-2, "Name or service not known"),
         "tcp://shop.invalid:2376 (DOCKER_HOST): its host name does not resolve", "host name in DOCKER_HOST"),
        ("tcp://10.0.0.9:2376", TimeoutError("timed out"), "no answer in time", "firewall"),
        ("tcp://10.0.0.9:2376", ConnectionRefusedError(111, "Connection refused"),
         "connection refused", "check DOCKER_HOST"),
    ],
)  # fmt: skip
def test_each_cause_is_named_with_its_fix(
    host: str, cause: BaseException, why: str, hint: str
) -> None:
    error = unreachable_error(host, sdk_error(cause))
    message = str(error)
    assert why in message and hint in message, message
    assert "\n" not in message and "HTTPConnectionPool" not in message


def test_public_url_masks_passwords_only() -> None:
    assert public_url("tcp://10.0.0.9:2376") == "tcp://10.0.0.9:2376"
    assert public_url("ssh://deploy@manager") == "ssh://deploy@manager"
    assert public_url("tcp://u:p4ss@h:1") == "tcp://u:***@h:1"
    assert public_url("https://t0ken@h:1") == "https://***@h:1"
