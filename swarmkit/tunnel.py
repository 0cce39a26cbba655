"""One SSH login per command: the remote engine's socket, forwarded to a local one.

The docker SDK's ``ssh://`` support starts ``ssh ... docker system dial-stdio``
for every connection it opens (docker/docker-py#2966), so a ``swarmkit status``
costs a login per API request. Instead, :func:`ssh_tunnel` starts the system's
``ssh`` once, as::

    ssh -N -T -L <private dir>/docker.sock:/var/run/docker.sock \\
        -o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes \\
        -o BatchMode=yes -o ConnectTimeout=15 -o ServerAliveInterval=15 \\
        -o ControlMaster=no -o ControlPath=none -o LogLevel=INFO \\
        [-l user] [-p port] -- host

and hands out the local socket: the docker SDK uses it as a plain
``unix://`` socket (its connection pool opens channels over the one SSH
connection, never new logins), and the ``docker`` CLI that ``deploy`` and
``rollback`` run gets ``DOCKER_HOST=unix://<that socket>``.

Choices, and why:

- The system ``ssh``, with user, host and port from the URL: the user's
  ``~/.ssh/config``, ``known_hosts`` and agent apply, as for the docker CLI.
- ``BatchMode=yes``: ssh never asks (a passphrase, an unknown host key), it
  fails; a command in CI must not wait for a terminal. Load keys into the
  agent, and put the manager's key in ``known_hosts`` first.
- ``ControlMaster=no``/``ControlPath=none``: a master the user's config asks
  for with ``ControlPersist`` would fork into the background and outlive the
  command, and a forward requested from an existing master would stay in it.
- ``LogLevel=INFO`` (ssh's default): a refused forward ("channel 2: open
  failed: connect failed: open failed") is logged at that level, and its
  line is the reason an API request failed. ssh's output goes to a file in
  the private directory, read only on failure.
- The remote end is ``/var/run/docker.sock`` (``SWARMKIT_SSH_REMOTE_SOCKET``
  changes it, say for a rootless engine): ``docker system dial-stdio`` would
  honour the remote's ``DOCKER_HOST``, a forward cannot ask for it.
- Ready means the local socket accepts a connection; ssh binds it only after
  the login, so a refused login or a host key mismatch ends ssh first, and
  the last line it wrote becomes the :class:`EngineError`.
- Standard library only: :func:`swarmkit.session.engine_session` starts ssh
  first and loads the docker SDK (a quarter of a second) while it logs in,
  so the login costs little more than the local socket's start-up.
- Nothing outlives the command: ssh runs in its own session (Ctrl-C reaches
  swarmkit, which closes the tunnel in ``finally``), the process group is
  terminated on exit, and on Linux ssh also gets SIGTERM when swarmkit dies
  (``PR_SET_PDEATHSIG``), even from SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from swarmkit.exceptions import EngineError

__all__ = ["REMOTE_SOCKET", "Tunnel", "ssh_command", "ssh_tunnel"]

REMOTE_SOCKET = "/var/run/docker.sock"
CONNECT_TIMEOUT = 15
# A login with a slow agent or a slow server takes more than the TCP connect.
READY_TIMEOUT = 45.0
_MAX_DIR = 90


class Tunnel:
    """A forward being set up or running: its local ``socket``, and ssh's complaints."""

    def __init__(
        self, process: subprocess.Popen[bytes], socket: str, log: Path, where: str, timeout: float
    ) -> None:
        self.socket = socket
        self.log = log
        self._process = process
        self._where = where
        self._deadline = time.monotonic() + timeout
        self._timeout = timeout
        self._ready = False

    @property
    def docker_host(self) -> str:
        """``unix://<socket>``, for the SDK's ``base_url`` and the CLI's ``DOCKER_HOST``."""
        return f"unix://{self.socket}"

    def ssh_said(self) -> str:
        """The last line of ssh's standard error that says something (not a banner)."""
        return _ssh_said(self.log)

    def wait_ready(self) -> None:
        """Return once the socket accepts connections; :class:`EngineError` if ssh fails.

        The deadline counts from ssh's start, so whatever ran in between
        (loading the docker SDK) overlapped the login.
        """
        while not self._ready:
            code = self._process.poll()
            if code is not None:
                reason = self.ssh_said() or f"ssh exited with status {code}"
                raise EngineError(
                    f"cannot reach a Docker Engine at {self._where}: {reason}",
                    hint=_hint(reason),
                )
            if _accepts(self.socket):
                self._ready = True
            elif time.monotonic() > self._deadline:
                reason = self.ssh_said() or "no answer"
                raise EngineError(
                    f"cannot reach a Docker Engine at {self._where}: ssh did not connect "
                    f"within {self._timeout:g} s ({reason})",
                    hint="check the host, the port and that sshd answers",
                )
            else:
                time.sleep(0.01)


def ssh_command(url: str, local: str, remote: str, *, connect_timeout: int) -> list[str]:
    """The ``ssh`` command that forwards ``local`` to ``remote`` on ``url``'s host."""
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise EngineError(f"DOCKER_HOST {_public(url)} is not ssh://[user@]host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.password:
        raise EngineError(
            f"DOCKER_HOST {_public(url)} has more than ssh://[user@]host[:port]",
            hint="no path, query or password; set the socket with SWARMKIT_SSH_REMOTE_SOCKET",
        )
    try:
        port = parts.port
    except ValueError:
        raise EngineError(f"DOCKER_HOST {_public(url)} has an invalid port") from None
    command = [
        os.environ.get("SWARMKIT_SSH") or "ssh",
        "-N",
        "-T",
        "-L",
        f"{local}:{remote}",
        "-o",
        "ExitOnForwardFailure=yes",
        "-o",
        "StreamLocalBindUnlink=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        f"ConnectTimeout={connect_timeout}",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=3",
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "-o",
        "LogLevel=INFO",
    ]
    if parts.username:
        command += ["-l", parts.username]
    if port is not None:
        command += ["-p", str(port)]
    return [*command, "--", parts.hostname]


@contextlib.contextmanager
def ssh_tunnel(
    url: str,
    *,
    remote: str | None = None,
    connect_timeout: int = CONNECT_TIMEOUT,
    ready_timeout: float = READY_TIMEOUT,
    wait: bool = True,
) -> Iterator[Tunnel]:
    """Forward the engine socket of ``url`` (``ssh://[user@]host[:port]``) to a local one.

    One ssh process, one login; it is gone when the block ends, however it
    ends. :class:`EngineError` (one line, ssh's own reason) when ssh cannot
    log in or forward within ``ready_timeout`` seconds. With ``wait=False``
    the block starts while ssh logs in: call :meth:`Tunnel.wait_ready` before
    using the socket.
    """
    remote = remote or os.environ.get("SWARMKIT_SSH_REMOTE_SOCKET") or REMOTE_SOCKET
    where = _public(url)
    # mkdtemp's directory is 0700: only this user can reach the socket.
    directory = tempfile.mkdtemp(prefix="swarmkit-ssh-")
    if len(directory) > _MAX_DIR:
        # A long $TMPDIR (macOS's) leaves no room in sun_path (104-108 bytes).
        os.rmdir(directory)
        directory = tempfile.mkdtemp(prefix="swarmkit-ssh-", dir="/tmp")
    local = os.path.join(directory, "docker.sock")
    log_path = Path(directory, "ssh.log")
    process: subprocess.Popen[bytes] | None = None
    try:
        command = ssh_command(url, local, remote, connect_timeout=connect_timeout)
        with open(log_path, "wb") as log:
            # Ctrl-C is held until `process` is set, so that `finally` can end it.
            held = _hold_signals()
            try:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,
                    preexec_fn=_child_setup(held),  # noqa: PLW1509 - two system calls, no locks
                )
            except OSError as exc:
                raise EngineError(
                    f"cannot start ssh for {where}: {exc.strerror or exc}",
                    hint="install the OpenSSH client",
                ) from exc
            finally:
                _release_signals(held)
        tunnel = Tunnel(process, local, log_path, where, ready_timeout)
        if wait:
            tunnel.wait_ready()
        yield tunnel
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def _ssh_said(log_path: Path) -> str:
    """The last line of ssh's standard error that says something (not a banner)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines()]
    useful = [
        line for line in lines if line and not line.startswith(("@", "Warning: Permanently added"))
    ]
    return useful[-1] if useful else ""


def _accepts(path: str) -> bool:
    # The file exists from bind(); a connect also proves listen() happened.
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _hint(reason: str) -> str:
    lowered = reason.lower()
    if "host key" in lowered:
        return (
            "the manager's host key is unknown or not the one in known_hosts: check it, "
            "then add it (ssh-keyscan) or fix known_hosts (ssh-keygen -R HOST)"
        )
    if "permission denied" in lowered:
        return (
            "the login was refused: load the deploy key into the agent (ssh-add) or set "
            "IdentityFile in ~/.ssh/config; swarmkit runs ssh with BatchMode=yes"
        )
    return "check DOCKER_HOST, and that `ssh HOST` logs in without a prompt"


def _stop(process: subprocess.Popen[bytes]) -> None:
    # ssh leads its own process group (start_new_session): end all of it,
    # also when ssh itself has exited (a ProxyCommand's children stay).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


_HELD = (signal.SIGINT, signal.SIGTERM)


def _hold_signals() -> set[int | signal.Signals] | None:
    """Block Ctrl-C and SIGTERM in this thread; the mask to restore (None: no masks here)."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)


def _release_signals(held: set[int | signal.Signals] | None) -> None:
    # A signal that came meanwhile is raised now, at the latest.
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _child_setup(held: set[int | signal.Signals] | None) -> Callable[[], None] | None:
    """A pre-exec hook: ssh gets the signal mask back, and (Linux) SIGTERM when swarmkit dies."""
    prctl = _prctl()
    if held is None and prctl is None:
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        if held is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if prctl is not None:
            prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    return hook


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function


def _public(url: str) -> str:
    # A password has no place in an ssh URL; never repeat one.
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"ssh://{parts.username}:***@{netloc}"
