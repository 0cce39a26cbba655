"""A docker SDK client for the swarm manager the environment points at.

``DOCKER_HOST`` (``unix://``, ``tcp://`` or ``ssh://user@host``), ``DOCKER_TLS_VERIFY``
and ``DOCKER_CERT_PATH`` are read as the docker CLI reads them.

:func:`~swarmkit.session.engine_session` is the way in: a client for the
length of a ``with`` block. Over ``ssh://`` it logs in once, with the
system's ``ssh`` (keys, agent, ``~/.ssh/config`` and ``known_hosts`` apply),
and forwards the engine's socket to a private local one (see
:mod:`swarmkit.tunnel`; :func:`tunnel_client` is the client over it):
every API request of the block, and the docker CLI that ``deploy_stack`` and
``rollback_stack`` run (:func:`cli_docker_host`), go over that one login, and
the ssh process ends with the block. :func:`connect` returns a bare client
instead; over ``ssh://`` the docker SDK then logs in for every request.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import weakref
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import docker
import docker.errors

from swarmkit.deploy.models import STACK_LABEL
from swarmkit.exceptions import EngineError, StackNotFoundError
from swarmkit.tunnel import Tunnel

__all__ = [
    "cli_docker_host",
    "connect",
    "public_url",
    "stack_services",
    "tunnel_client",
    "unreachable_error",
]

# Where the SDK and the docker CLI look when DOCKER_HOST is unset.
DEFAULT_SOCKET = "unix:///var/run/docker.sock"

# The DOCKER_HOST the docker CLI must use to reach the same engine as a
# client of engine_session: its tunnel's socket.
_CLI_HOSTS: weakref.WeakKeyDictionary[docker.DockerClient, str] = weakref.WeakKeyDictionary()


def connect(*, timeout: int = 60) -> docker.DockerClient:
    """A client for the engine of ``DOCKER_HOST``; it must be a swarm manager.

    Raises :class:`EngineError` when no engine answers, or when the engine is
    not in swarm mode or is a worker. Over ``ssh://`` each API request is a
    new SSH login (the docker SDK's ``use_ssh_client``): prefer
    :func:`~swarmkit.session.engine_session`, which logs in once.
    """
    host = os.environ.get("DOCKER_HOST", "")
    where = host or "the local Docker socket"
    try:
        client = docker.from_env(timeout=timeout, use_ssh_client=host.startswith("ssh://"))
    except (docker.errors.DockerException, OSError) as exc:
        raise _unreachable(where, exc) from exc
    _check_manager(client, where)
    return client


@contextlib.contextmanager
def tunnel_client(
    tunnel: Tunnel, where: str, *, timeout: int = 60
) -> Iterator[docker.DockerClient]:
    """A checked manager's client over ``tunnel`` for the block; the docker CLI follows it.

    :func:`~swarmkit.session.engine_session` is the usual way in.
    """
    tunnel.wait_ready()
    try:
        # version=None asks the engine, as from_env does.
        client = docker.DockerClient(base_url=tunnel.docker_host, timeout=timeout)
    except (docker.errors.DockerException, OSError) as exc:
        raise _unreachable(where, exc, tunnel.ssh_said()) from exc
    try:
        _check_manager(client, where, tunnel.ssh_said)
        _CLI_HOSTS[client] = tunnel.docker_host
        yield client
    finally:
        _CLI_HOSTS.pop(client, None)
        client.close()


def cli_docker_host(client: docker.DockerClient) -> str | None:
    """The ``DOCKER_HOST`` the docker CLI needs for ``client``'s engine; None: the environment's."""
    return _CLI_HOSTS.get(client)


def stack_services(client: docker.DockerClient, stack: str) -> list[Any]:
    """The stack's services, sorted by name; :class:`StackNotFoundError` if none."""
    try:
        services = client.services.list(filters={"label": f"{STACK_LABEL}={stack}"})
    except docker.errors.DockerException as exc:
        raise EngineError(f"cannot list services: {_first_line(exc)}") from exc
    if not services:
        raise StackNotFoundError(stack, hint="docker stack ls lists the stacks")
    return sorted(services, key=lambda s: str(s.name))


def _check_manager(
    client: docker.DockerClient, where: str, said: Callable[[], str] | None = None
) -> None:
    try:
        info: dict[str, Any] = client.info()
    except (docker.errors.DockerException, OSError) as exc:
        # OSError: requests' connection errors, and an ssh that cannot start.
        client.close()
        raise _unreachable(where, exc, said() if said else "") from exc
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        client.close()
        raise EngineError(
            f"the Docker Engine at {where} is not in swarm mode",
            hint="run docker swarm init, or point DOCKER_HOST at a manager",
        )
    if not swarm.get("ControlAvailable"):
        client.close()
        raise EngineError(
            f"the Docker Engine at {where} is a swarm worker, not a manager",
            hint="point DOCKER_HOST at a manager node",
        )


def _unreachable(where: str, exc: BaseException, ssh_said: str = "") -> EngineError:
    # Over a tunnel the SDK only sees a closed socket; ssh knows why (say the
    # remote socket is missing, or sshd forbids forwarding).
    if not ssh_said:
        return unreachable_error(os.environ.get("DOCKER_HOST", ""), exc)
    hint = "check that dockerd runs on the manager"
    if "open failed" in ssh_said:
        hint = (
            "sshd must allow AllowStreamLocalForwarding, and the user must be able to open "
            "the engine's socket (the docker group; SWARMKIT_SSH_REMOTE_SOCKET names another)"
        )
    return EngineError(
        f"cannot reach a Docker Engine at {where}: {_first_line(exc)}; ssh: {ssh_said}", hint=hint
    )


def unreachable_error(host: str, exc: BaseException) -> EngineError:
    """One line for an engine that did not answer: the URL tried, why, what to do.

    ``host`` is ``DOCKER_HOST`` ("" for the local socket); the URL is shown
    without credentials, and never the SDK's chain of urllib3 errors.
    """
    url = public_url(host) if host else DEFAULT_SOCKET
    where = f"{url} (DOCKER_HOST)" if host else f"{url} (the local socket; DOCKER_HOST is unset)"
    text = _first_line(exc)
    if "Invalid bind address" in text or "scheme" in text.lower():
        return EngineError(
            f"DOCKER_HOST {url!r} is not an engine address",
            hint="set DOCKER_HOST to unix:///var/run/docker.sock, tcp://HOST:2376 or "
            "ssh://user@manager, or unset it for the local socket",
        )
    causes = _causes(exc)
    fix_host = "check DOCKER_HOST, or point it at a manager: DOCKER_HOST=ssh://user@manager"
    if any(isinstance(c, socket.gaierror) for c in causes):
        why, hint = "its host name does not resolve", "check the host name in DOCKER_HOST"
    elif any(isinstance(c, ConnectionRefusedError) for c in causes):
        why = "connection refused (no engine listens there)"
        hint = fix_host if host else "start dockerd (systemctl start docker), or set DOCKER_HOST"
    elif any(isinstance(c, FileNotFoundError) for c in causes):
        why = "no such socket"
        hint = fix_host if host else "start dockerd (systemctl start docker), or set DOCKER_HOST"
    elif any(isinstance(c, PermissionError) for c in causes):
        why = "permission denied on the socket"
        hint = "join the docker group (and log in again), or run as a user that may use the engine"
    elif any(isinstance(c, ssl.SSLError) for c in causes):
        why, hint = "the TLS handshake failed", "check DOCKER_TLS_VERIFY and DOCKER_CERT_PATH"
    elif any(isinstance(c, TimeoutError) or "Timeout" in type(c).__name__ for c in causes):
        why, hint = "no answer in time", "check the host, the port and any firewall on the way"
    elif "TLS" in text or "certificate" in text.lower():
        why = "the TLS client certificate is missing"
        hint = "check DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (cert.pem, key.pem, ca.pem)"
    elif any(type(c).__name__ in {"HTTPError", "NotFound", "APIError"} for c in causes):
        why, hint = "something answered, but not a Docker Engine", fix_host
    else:
        why = _deepest_line(causes)
        if host:
            why = why.replace(host, url)  # the SDK repeats the URL, credentials included
        hint = fix_host if host else "start dockerd, or set DOCKER_HOST"
    return EngineError(f"cannot reach a Docker Engine at {where}: {why}", hint=hint)


def public_url(url: str) -> str:
    """``url`` without a password or token in it (``user:***@``, ``***@``), for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.password is not None:
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))
    # ssh://user@host names a login; elsewhere a lone user part may be a token.
    if parts.scheme == "ssh":
        return url
    return urlunsplit(parts._replace(netloc=f"***@{netloc}"))


def _causes(exc: BaseException) -> list[BaseException]:
    # The SDK wraps requests, which wraps urllib3, which wraps the OSError.
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 20:
        found.append(current)
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError
        current = current.__cause__ or current.__context__
        if current is None and isinstance(reason, BaseException):
            current = reason
    return found


def _deepest_line(causes: list[BaseException]) -> str:
    deepest = causes[-1]
    if isinstance(deepest, OSError) and deepest.strerror:
        return deepest.strerror.lower()
    return _first_line(deepest)[:200]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
