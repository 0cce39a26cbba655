"""``DOCKER_HOST=ssh://root@127.0.0.1``: status and deploy through a real sshd.

A private sshd (Debian's openssh-server) runs on a free port of 127.0.0.1
with its own host key, config and authorized key, all in a temporary
directory; the system's sshd config and root's ``~/.ssh`` are not touched.
The client side is an ``ssh`` wrapper first on ``PATH`` that adds ``-F``
with the test's key: OpenSSH reads ``~/.ssh`` from the passwd entry, not
``$HOME``. swarmkit's docker SDK (``use_ssh_client``) and the docker CLI that
``swarmkit deploy`` runs both go through it. Under ``CI=true`` a missing sshd
fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import IMAGE, LABEL, deploy_stack, wait_until
from tests.django.servers import free_port, wait_for_port

SSHD = "/usr/sbin/sshd"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture(scope="module")
def ssh_env(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    reason = ""
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh-keygen") is None:
        reason = "sshd is not installed (Debian: openssh-server, openssh-client)"
    elif os.geteuid() != 0:
        reason = "the remote tests start sshd and log in as root: run them as root"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("sshd")
    _keygen(root / "host_key")
    _keygen(root / "client_key")
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\n"
        f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {root / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    log = open(root / "sshd.log", "wb")  # noqa: SIM115 - sshd writes to it until stopped
    server = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(root / "sshd_config")], stdout=log, stderr=log
    )
    try:
        wait_for_port(port)
        (root / "ssh_config").write_text(
            f"Host 127.0.0.1\n  IdentityFile {root / 'client_key'}\n  IdentitiesOnly yes\n"
            "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
            "  BatchMode yes\n"
        )
        bin_dir = root / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {root / "ssh_config"} "$@"\n')
        wrapper.chmod(0o755)
        yield {
            "DOCKER_HOST": f"ssh://root@127.0.0.1:{port}",
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        log.close()


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


def test_status_and_deploy_through_ssh(
    engine: Any, ssh_env: dict[str, str], stack_name: str, tmp_path: Path
) -> None:
    from swarmkit.deploy import stack_status

    path = deploy_stack(stack_name, tmp_path, {"web": 1})
    wait_until(lambda: all(r.converged for r in stack_status(engine, stack_name)))

    status = swarmkit("status", stack_name, env=ssh_env)
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[1].split()[:3] == [f"{stack_name}_web", IMAGE, "1/1"]

    # A new release of the same files, deployed over ssh (the docker CLI too).
    path.write_text(path.read_text().replace("replicas: 1", "replicas: 2"))
    done = swarmkit(
        "deploy", "-c", str(path), "--name", stack_name, "--resolve-image", "never",
        "--timeout", "120", env=ssh_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == f"stack {stack_name} converged"
    service = engine.services.get(f"{stack_name}_web")
    assert service.attrs["Spec"]["Mode"]["Replicated"]["Replicas"] == 2
    assert service.attrs["Spec"]["Labels"][LABEL.split("=")[0]] == LABEL.split("=")[1]


def test_unreachable_ssh_host_is_an_error_line_and_exit_2(ssh_env: dict[str, str]) -> None:
    env = {**ssh_env, "DOCKER_HOST": f"ssh://root@127.0.0.1:{free_port()}"}
    done = swarmkit("status", "anything", env=env)
    assert done.returncode == 2
    # ssh's own complaint comes first (it writes to the terminal), then ours.
    *ssh_lines, last = done.stderr.splitlines()
    assert last.startswith("swarmkit: error: cannot reach a Docker Engine at ssh://")
    assert "Traceback" not in done.stderr
    assert all(line.startswith("ssh: ") for line in ssh_lines), done.stderr
