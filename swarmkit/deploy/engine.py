"""A docker SDK client for the swarm manager the environment points at.

``DOCKER_HOST`` (``unix://``, ``tcp://`` or ``ssh://user@host``), ``DOCKER_TLS_VERIFY``
and ``DOCKER_CERT_PATH`` are read as the docker CLI reads them. Over ``ssh://``
the system's ``ssh`` binary is used (as the docker CLI does), so keys, agents
and ``~/.ssh/config`` work without paramiko.
"""

from __future__ import annotations

import os
from typing import Any

import docker
import docker.errors

from swarmkit.deploy.models import STACK_LABEL
from swarmkit.exceptions import EngineError, StackNotFoundError

__all__ = ["connect", "stack_services"]


def connect(*, timeout: int = 60) -> docker.DockerClient:
    """A client for the engine of ``DOCKER_HOST``; it must be a swarm manager.

    Raises :class:`EngineError` when no engine answers, or when the engine is
    not in swarm mode or is a worker.
    """
    host = os.environ.get("DOCKER_HOST", "")
    where = host or "the local Docker socket"
    try:
        client = docker.from_env(timeout=timeout, use_ssh_client=host.startswith("ssh://"))
        info: dict[str, Any] = client.info()
    except (docker.errors.DockerException, OSError) as exc:
        # OSError: requests' connection errors, and an ssh that cannot start.
        raise EngineError(
            f"cannot reach a Docker Engine at {where}: {_first_line(exc)}",
            hint="start dockerd, or set DOCKER_HOST=ssh://user@manager",
        ) from exc
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        raise EngineError(
            f"the Docker Engine at {where} is not in swarm mode",
            hint="run docker swarm init, or point DOCKER_HOST at a manager",
        )
    if not swarm.get("ControlAvailable"):
        raise EngineError(
            f"the Docker Engine at {where} is a swarm worker, not a manager",
            hint="point DOCKER_HOST at a manager node",
        )
    return client


def stack_services(client: docker.DockerClient, stack: str) -> list[Any]:
    """The stack's services, sorted by name; :class:`StackNotFoundError` if none."""
    try:
        services = client.services.list(filters={"label": f"{STACK_LABEL}={stack}"})
    except docker.errors.DockerException as exc:
        raise EngineError(f"cannot list services: {_first_line(exc)}") from exc
    if not services:
        raise StackNotFoundError(stack, hint="docker stack ls lists the stacks")
    return sorted(services, key=lambda s: str(s.name))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
