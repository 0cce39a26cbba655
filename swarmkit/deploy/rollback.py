"""Roll a stack's services back to their previous spec, and wait.

Swarm keeps one previous spec per service; ``docker service rollback`` asks
for it (the docker SDK has no call for that query), and the wait is the same
as after a deploy, with a completed rollback as the goal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker

from swarmkit.deploy.docker_cli import run_docker
from swarmkit.deploy.engine import cli_docker_host, stack_services
from swarmkit.deploy.models import Before, EngineService
from swarmkit.deploy.state import companions_to_roll_back, rollback_targets
from swarmkit.deploy.status import ServiceStatus
from swarmkit.deploy.wait import snapshot, wait_for_stack
from swarmkit.exceptions import DeployError

__all__ = ["rollback_companions", "rollback_stack"]


def rollback_stack(
    client: docker.DockerClient,
    stack: str,
    *,
    service: str | None = None,
    timeout: float = 600,
    poll: float = 1.0,
    progress: Callable[[list[ServiceStatus]], None] | None = None,
    docker_cli: str | None = None,
) -> list[ServiceStatus]:
    """Roll back the services of ``stack`` (or only ``service``) that the last deploy changed.

    A service goes back when its previous spec differs from its spec. One
    whose last change was itself a rollback is left alone: its previous spec
    is the release that was rolled back, and a second rollback would bring
    that back (deploy the release you want instead).
    """
    services = stack_services(client, stack)
    if service is not None:
        services = [s for s in services if s.name in (service, f"{stack}_{service}")]
        if not services:
            raise DeployError(f"stack {stack!r} has no service {service!r}")
    targets = rollback_targets([EngineService.parse(s.attrs) for s in services])
    if not targets:
        raise DeployError(
            f"nothing to roll back in stack {stack!r}: no service's previous spec differs "
            "from its spec, or its last change was a rollback",
            hint="Swarm keeps one previous spec per service; deploy the release you want",
        )
    before = snapshot(client, stack)
    _request_rollbacks(client, [t.name for t in targets], docker_cli)
    return wait_for_stack(
        client, stack, before, timeout=timeout, poll=poll, progress=progress, rolling_back=True
    )


def rollback_companions(
    client: docker.DockerClient,
    stack: str,
    before: dict[str, Before],
    *,
    timeout: float = 600,
    poll: float = 1.0,
    docker_cli: str | None = None,
) -> list[str]:
    """After Swarm rolled back part of a deploy, roll back the rest of it too.

    A release is one image for several services (the app and the scheduler
    share it): when Swarm rolls the app back, the scheduler, whose update
    completed, would stay on the broken release. Every service this deploy
    changed (its task template differs from its previous spec) and that
    Swarm did not roll back itself is rolled back, then the stack is waited
    for. Returns their names; nothing is done when no service of the stack
    rolled back since ``before`` (a timeout or a paused update is left to
    the operator).
    """
    services: list[Any] = stack_services(client, stack)
    companions = companions_to_roll_back([EngineService.parse(s.attrs) for s in services], before)
    if not companions:
        return []
    now = snapshot(client, stack)
    names = [c.name for c in companions]
    _request_rollbacks(client, names, docker_cli)
    wait_for_stack(client, stack, now, timeout=timeout, poll=poll, rolling_back=True)
    return names


def _request_rollbacks(
    client: docker.DockerClient, names: list[str], docker_cli: str | None
) -> None:
    for name in names:
        run_docker(
            ["service", "rollback", "--detach", "--quiet", name],
            docker_cli=docker_cli,
            docker_host=cli_docker_host(client),
        )
