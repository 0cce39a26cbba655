"""A private sshd on 127.0.0.1 for the remote tests and the SSH benchmark.

Debian's openssh-server, on a free port, with its own host key, config and
authorized key, all in a temporary directory; the system's sshd config and
root's ``~/.ssh`` are not touched. The client side is an ``ssh`` wrapper
first on ``PATH`` that adds ``-F`` with a config of the test's choosing:
OpenSSH reads ``~/.ssh`` from the passwd entry, not ``$HOME``. sshd logs
every login (``Accepted publickey``) to ``sshd.log``, which is how the tests
count them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.django.servers import free_port

SSHD = "/usr/sbin/sshd"
LOGIN = "Accepted publickey"


def missing() -> str:
    """Why a private sshd cannot run here; empty if it can."""
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh-keygen") is None:
        return "sshd is not installed (Debian: openssh-server, openssh-client)"
    if os.geteuid() != 0:
        return "the remote tests start sshd and log in as root: run them as root"
    return ""


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@dataclass
class Sshd:
    root: Path
    port: int
    log: Path
    address: str = "127.0.0.1"

    @property
    def docker_host(self) -> str:
        return f"ssh://root@{self.address}:{self.port}"

    def logins(self) -> int:
        """Successful logins so far."""
        return self.log.read_text(errors="replace").count(LOGIN)

    def client_env(self, name: str, config: str | None = None) -> dict[str, str]:
        """``DOCKER_HOST`` and a ``PATH`` whose ``ssh`` reads ``config`` (default: the good key)."""
        if config is None:
            config = (
                f"  IdentityFile {self.root / 'client_key'}\n  IdentitiesOnly yes\n"
                "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
            )
        directory = self.root / name
        directory.mkdir(exist_ok=True)
        (directory / "ssh_config").write_text(
            f"Host {self.address}\n{config}  LogLevel ERROR\n  BatchMode yes\n"
        )
        wrapper = directory / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {directory / "ssh_config"} "$@"\n')
        wrapper.chmod(0o755)
        return {"DOCKER_HOST": self.docker_host, "PATH": f"{directory}:{os.environ['PATH']}"}


@contextmanager
def private_sshd(
    root: Path, extra_config: str = "", *, address: str = "127.0.0.1",
    prefix: tuple[str, ...] = (), port: int | None = None,
) -> Iterator[Sshd]:  # fmt: skip
    """Run sshd in ``root`` (with ``extra_config`` lines) until the block ends.

    ``prefix`` runs it elsewhere (``nsenter --net=...``: a cluster node's
    namespace), listening on ``address``.
    """
    keygen(root / "host_key")
    keygen(root / "client_key")
    keygen(root / "other_key")  # authorized nowhere: a refused login
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = port or free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {root / 'host_key'}\n"
        f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {root / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel INFO\n" + extra_config
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    log_path = root / "sshd.log"
    log = open(log_path, "wb")  # noqa: SIM115 - sshd writes to it until stopped
    server = subprocess.Popen(
        [*prefix, SSHD, "-D", "-e", "-f", str(root / "sshd_config")], stdout=log, stderr=log
    )
    try:
        wait_for(address, port)
        yield Sshd(root, port, log_path, address)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        log.close()


def wait_for(address: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((address, port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"sshd does not listen on {address}:{port} after {timeout:g}s")
