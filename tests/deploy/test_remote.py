"""``DOCKER_HOST=ssh://root@127.0.0.1``: status, deploy and logs through a real sshd.

A private sshd runs on 127.0.0.1 (see ``tests/deploy/sshd.py``) and an
``ssh`` wrapper first on ``PATH`` points the client at the test's keys and
known_hosts. The sshd log counts the logins: one per ``swarmkit`` command,
``docker stack deploy`` included (it uses swarmkit's forwarded socket).
Every command runs with a private ``TMPDIR``, so an ssh process left behind
is found by the tunnel's path in its command line. Under ``CI=true`` a
missing sshd fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import IMAGE, LABEL, deploy_stack, wait_until
from tests.deploy.sshd import Sshd, keygen, missing, private_sshd
from tests.django.servers import free_port


@pytest.fixture(scope="module")
def sshd(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with private_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="module")
def ssh_env(sshd: Sshd) -> dict[str, str]:
    return sshd.client_env("good")


@pytest.fixture
def tmpdir_env() -> Iterator[dict[str, str]]:
    # Short: the tunnel's socket path must fit in sun_path (108 bytes).
    directory = tempfile.mkdtemp(prefix="sk-ssh-test-")
    yield {"TMPDIR": directory}
    os.rmdir(directory)  # the tunnel removed its own directory


@pytest.fixture(scope="module")
def remote_stack(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from swarmkit.deploy import stack_status

    name = f"sktest-deploy-ssh{os.urandom(3).hex()}"
    deploy_stack(name, tmp_path_factory.mktemp("stack"), {"web": 1})
    wait_until(lambda: all(r.converged for r in stack_status(engine, name)))
    yield name
    subprocess.run(["docker", "stack", "rm", name], capture_output=True, check=False)


def swarmkit(*args: str, env: dict[str, str], cwd: Path | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "swarmkit", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def live_processes_mentioning(text: str) -> list[str]:
    return [command for _, command in _live(text)]


def live_pids_mentioning(text: str) -> list[int]:
    return [pid for pid, _ in _live(text)]


def _live(text: str) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text.encode() in command and state != "Z":
            found.append((int(entry.name), command.replace(b"\0", b" ").decode(errors="replace")))
    return found


def assert_one_error_line(done: Any, *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("swarmkit: error: cannot reach a Docker Engine at ssh://")
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_status_and_deploy_through_ssh_log_in_once_each(
    engine: Any,
    sshd: Sshd,
    ssh_env: dict[str, str],
    tmpdir_env: dict[str, str],
    stack_name: str,
    tmp_path: Path,
) -> None:
    from swarmkit.deploy import stack_status

    path = deploy_stack(stack_name, tmp_path, {"web": 1, "worker": 1})
    wait_until(lambda: all(r.converged for r in stack_status(engine, stack_name)))
    env = {**ssh_env, **tmpdir_env}

    before = sshd.logins()
    status = swarmkit("status", stack_name, env=env)
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[1].split()[:3] == [f"{stack_name}_web", IMAGE, "1/1"]
    # Two services: the docker SDK alone made several requests, each a login.
    assert sshd.logins() - before == 1

    # A new release of the same files, deployed over ssh (the docker CLI too).
    path.write_text(path.read_text().replace("replicas: 1", "replicas: 2"))
    before = sshd.logins()
    done = swarmkit(
        "deploy", "-c", str(path), "--name", stack_name, "--resolve-image", "never",
        "--timeout", "120", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == f"stack {stack_name} converged"
    assert sshd.logins() - before == 1
    service = engine.services.get(f"{stack_name}_web")
    assert service.attrs["Spec"]["Mode"]["Replicated"]["Replicas"] == 2
    assert service.attrs["Spec"]["Labels"][LABEL.split("=")[0]] == LABEL.split("=")[1]
    assert live_processes_mentioning(tmpdir_env["TMPDIR"]) == []


def test_unreachable_ssh_host_is_one_error_line_and_exit_2(
    ssh_env: dict[str, str], tmpdir_env: dict[str, str]
) -> None:
    env = {**ssh_env, **tmpdir_env, "DOCKER_HOST": f"ssh://root@127.0.0.1:{free_port()}"}
    done = swarmkit("status", "anything", env=env)
    assert_one_error_line(done, "Connection refused")
    assert live_processes_mentioning(tmpdir_env["TMPDIR"]) == []


def test_refused_login_is_one_error_line_and_exit_2(sshd: Sshd, tmpdir_env: dict[str, str]) -> None:
    env = sshd.client_env(
        "wrong-key",
        f"  IdentityFile {sshd.root / 'other_key'}\n  IdentitiesOnly yes\n"
        "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n",
    )
    before = sshd.logins()
    done = swarmkit("status", "anything", env={**env, **tmpdir_env})
    assert_one_error_line(done, "Permission denied", "ssh-add")
    assert sshd.logins() == before
    assert live_processes_mentioning(tmpdir_env["TMPDIR"]) == []


def test_host_key_mismatch_is_one_error_line_and_exit_2(
    sshd: Sshd, tmpdir_env: dict[str, str]
) -> None:
    impostor = sshd.root / "impostor_key"
    if not impostor.exists():
        keygen(impostor)
    known = sshd.root / "known_hosts_wrong"
    known.write_text(f"[127.0.0.1]:{sshd.port} {impostor.with_suffix('.pub').read_text()}")
    env = sshd.client_env(
        "wrong-host-key",
        f"  IdentityFile {sshd.root / 'client_key'}\n  IdentitiesOnly yes\n"
        f"  StrictHostKeyChecking yes\n  UserKnownHostsFile {known}\n",
    )
    before = sshd.logins()
    done = swarmkit("status", "anything", env={**env, **tmpdir_env})
    assert_one_error_line(done, "Host key verification failed", "known_hosts")
    assert sshd.logins() == before
    assert live_processes_mentioning(tmpdir_env["TMPDIR"]) == []


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)]
)
def test_no_ssh_process_outlives_an_interrupted_command(
    sshd: Sshd,
    ssh_env: dict[str, str],
    tmpdir_env: dict[str, str],
    remote_stack: str,
    sig: int,
    code: int,
) -> None:
    marker = tmpdir_env["TMPDIR"]
    follow = subprocess.Popen(
        [sys.executable, "-m", "swarmkit", "logs", "-f", remote_stack],
        env={**os.environ, **ssh_env, **tmpdir_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline()  # a line came over the tunnel
        assert len(live_processes_mentioning(marker)) == 1  # the one ssh
        follow.send_signal(sig)
        assert follow.wait(30) == code
    finally:
        follow.kill()
        follow.wait()
    if sig == signal.SIGKILL:
        # Nothing ran in swarmkit: the kernel tells ssh (PR_SET_PDEATHSIG).
        wait_until(lambda: not live_processes_mentioning(marker), timeout=10)
        for leftover in Path(marker).iterdir():  # the tunnel's directory stays
            for file in leftover.iterdir():
                file.unlink()
            leftover.rmdir()
    else:
        assert live_processes_mentioning(marker) == []
        assert follow.stderr is not None
        assert "Traceback" not in follow.stderr.read()


def test_a_remote_socket_ssh_cannot_open_is_one_error_line_with_ssh_reason(
    ssh_env: dict[str, str], tmpdir_env: dict[str, str]
) -> None:
    env = {**ssh_env, **tmpdir_env, "SWARMKIT_SSH_REMOTE_SOCKET": "/nonexistent/docker.sock"}
    done = swarmkit("status", "anything", env=env)
    assert_one_error_line(done, "; ssh: ", "open failed")
    assert live_processes_mentioning(tmpdir_env["TMPDIR"]) == []


def test_sshd_refusing_socket_forwarding_is_one_error_line(
    engine: Any, sshd: Sshd, tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    root = tmp_path / "sshd"
    root.mkdir()
    with private_sshd(root, "AllowStreamLocalForwarding no\n") as strict:
        done = swarmkit("status", "anything", env={**strict.client_env("c"), **tmpdir_env})
    assert_one_error_line(done, "; ssh: channel ", "open failed", "AllowStreamLocalForwarding")
    assert live_processes_mentioning(tmpdir_env["TMPDIR"]) == []


def test_a_dead_link_ends_logs_follow_with_one_error_line(
    ssh_env: dict[str, str], tmpdir_env: dict[str, str], remote_stack: str
) -> None:
    follow = subprocess.Popen(
        [sys.executable, "-m", "swarmkit", "logs", "-f", remote_stack],
        env={**os.environ, **ssh_env, **tmpdir_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follow.stdout is not None and follow.stderr is not None
        assert follow.stdout.readline()
        (ssh_pid,) = live_pids_mentioning(tmpdir_env["TMPDIR"])
        os.kill(ssh_pid, signal.SIGKILL)  # what ServerAliveInterval does to a dead link
        assert follow.wait(30) == 2
        lines = follow.stderr.read().splitlines()
    finally:
        follow.kill()
        follow.wait()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"swarmkit: error: the log stream of {remote_stack}_web broke: ")
