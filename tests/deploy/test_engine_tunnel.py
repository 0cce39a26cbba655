"""The SSH tunnel's command line, failures and clean-up, with a stand-in ``ssh``.

The stand-in (``$SWARMKIT_SSH``) is a small Python script: it binds the
``-L`` socket like ssh does after a login, or fails like ssh does, and
starts a child of its own so that the test sees the whole process group
end. The real sshd is in test_remote.py.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from swarmkit.deploy.docker_cli import run_docker
from swarmkit.exceptions import EngineError
from swarmkit.tunnel import ssh_command, ssh_tunnel

FAKE_SSH = """\
#!{python}
import os, socket, subprocess, sys, time
args = sys.argv[1:]
local = args[args.index("-L") + 1].rsplit(":", 1)[0]
child = subprocess.Popen(["sleep", "600"])
with open({pids!r}, "a") as f:
    f.write(f"{{os.getpid()}} {{child.pid}}\\n")
with open({pids!r} + ".status", "w") as f:
    f.write(open("/proc/self/status").read())
mode = {mode!r}
if mode == "refused":
    sys.stderr.write("Warning: Permanently added 'h' (ED25519) to the list of known hosts.\\r\\n")
    sys.stderr.write("deploy@h: Permission denied (publickey).\\r\\n")
    sys.exit(255)
if mode == "mismatch":
    sys.stderr.write("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\\n")
    sys.stderr.write("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\\n")
    sys.stderr.write("Host key verification failed.\\n")
    sys.exit(255)
if mode == "listen":
    server = socket.socket(socket.AF_UNIX)
    server.bind(local)
    server.listen()
time.sleep(600)
"""


def fake_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> Path:
    pids = tmp_path / "pids"
    script = tmp_path / "ssh"
    script.write_text(FAKE_SSH.format(python=sys.executable, pids=str(pids), mode=mode))
    script.chmod(0o755)
    monkeypatch.setenv("SWARMKIT_SSH", str(script))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return pids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def all_gone(pids: Path) -> bool:
    numbers = [int(n) for n in pids.read_text().split()]
    deadline = time.monotonic() + 5
    while any(alive(n) for n in numbers) and time.monotonic() < deadline:
        time.sleep(0.05)  # the reaper of an orphaned child may take a moment
    return bool(numbers) and not any(alive(n) for n in numbers)


def tunnel_dirs(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("swarmkit-ssh-*"))


def test_command_passes_user_port_and_host_and_never_prompts() -> None:
    command = ssh_command(
        "ssh://deploy@manager.example.com:2222", "/t/s", "/r/s", connect_timeout=7
    )
    assert command[:5] == ["ssh", "-N", "-T", "-L", "/t/s:/r/s"]
    assert command[-6:] == ["-l", "deploy", "-p", "2222", "--", "manager.example.com"]
    options = {command[i + 1] for i, arg in enumerate(command) if arg == "-o"}
    assert {"BatchMode=yes", "ConnectTimeout=7", "ExitOnForwardFailure=yes"} <= options
    assert {"StreamLocalBindUnlink=yes", "ControlMaster=no", "ControlPath=none"} <= options


def test_command_without_user_or_port_leaves_them_to_ssh_config() -> None:
    command = ssh_command("ssh://[2001:db8::1]", "/t/s", "/r/s", connect_timeout=7)
    assert command[-2:] == ["--", "2001:db8::1"]
    assert "-l" not in command and "-p" not in command


@pytest.mark.parametrize(
    "url", ["ssh://deploy:hunter2@manager", "ssh://manager/var/run/x.sock", "ssh://manager:99999"]
)
def test_command_refuses_more_than_user_host_port(url: str) -> None:
    with pytest.raises(EngineError) as caught:
        ssh_command(url, "/t/s", "/r/s", connect_timeout=7)
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("DOCKER_HOST ssh://")


def test_missing_ssh_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARMKIT_SSH", str(tmp_path / "no-such-ssh"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with pytest.raises(EngineError, match="cannot start ssh for ssh://m: "), ssh_tunnel("ssh://m"):
        pass
    assert tunnel_dirs(tmp_path) == []


@pytest.mark.parametrize(
    ("mode", "said", "hint"),
    [
        ("refused", "deploy@h: Permission denied (publickey).", "ssh-add"),
        ("mismatch", "Host key verification failed.", "known_hosts"),
    ],
)
def test_ssh_failure_is_its_last_line_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, said: str, hint: str
) -> None:
    pids = fake_ssh(tmp_path, monkeypatch, mode)
    with pytest.raises(EngineError) as caught, ssh_tunnel("ssh://deploy@h"):
        pass
    message = str(caught.value)
    assert message.startswith(f"cannot reach a Docker Engine at ssh://deploy@h: {said} (")
    assert hint in message and "\n" not in message
    assert all_gone(pids)
    assert tunnel_dirs(tmp_path) == []


def test_an_ssh_that_never_connects_times_out_and_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = fake_ssh(tmp_path, monkeypatch, "hang")
    started = time.monotonic()
    with (
        pytest.raises(EngineError, match=r"ssh did not connect within 0\.5 s"),
        ssh_tunnel("ssh://h", ready_timeout=0.5),
    ):
        pass
    assert time.monotonic() - started < 10
    assert all_gone(pids)
    assert tunnel_dirs(tmp_path) == []


def sig_blk(status: str) -> str:
    return next(line for line in status.splitlines() if line.startswith("SigBlk:"))


def test_tunnel_yields_a_private_socket_and_ends_its_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = fake_ssh(tmp_path, monkeypatch, "listen")
    with pytest.raises(KeyboardInterrupt), ssh_tunnel("ssh://h") as tunnel:
        assert tunnel.docker_host == f"unix://{tunnel.socket}"
        assert (os.stat(Path(tunnel.socket).parent).st_mode & 0o777) == 0o700
        assert Path(tunnel.socket).is_socket()
        started = time.monotonic()
        raise KeyboardInterrupt  # Ctrl-C in the middle of a command
    # SIGTERM did it: ssh got back the signals held while it started.
    assert time.monotonic() - started < 4
    status = Path(f"{pids}.status").read_text()
    assert sig_blk(status) == sig_blk(Path("/proc/self/status").read_text())
    assert all_gone(pids)  # ssh and its child: the group
    assert tunnel_dirs(tmp_path) == []


def test_a_bad_url_leaves_no_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with pytest.raises(EngineError, match="has more than"), ssh_tunnel("ssh://h/some/path"):
        pass
    assert tunnel_dirs(tmp_path) == []


def test_run_docker_uses_the_given_host_and_drops_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = tmp_path / "docker"
    cli.write_text(
        '#!/bin/sh\necho "${DOCKER_HOST}|${DOCKER_TLS_VERIFY:-}|${DOCKER_CERT_PATH:-}"\n'
    )
    cli.chmod(0o755)
    monkeypatch.setenv("DOCKER_HOST", "ssh://deploy@manager")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/certs")
    tunnelled = run_docker(["version"], docker_cli=str(cli), docker_host="unix:///t/docker.sock")
    assert tunnelled == "unix:///t/docker.sock||\n"
    assert run_docker(["version"], docker_cli=str(cli)) == "ssh://deploy@manager|1|/certs\n"
