"""Roll a stack's services back to their previous spec, and wait.

Swarm keeps one previous spec per service; ``docker service rollback`` asks
for it (the docker SDK has no call for that query), and the wait is the same
as after a deploy, with a completed rollback as the goal.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import docker

from swarmkit.deploy.deploy import _docker_cli
from swarmkit.deploy.engine import stack_services
from swarmkit.deploy.status import ServiceStatus
from swarmkit.deploy.wait import snapshot, wait_for_stack
from swarmkit.exceptions import DeployError

__all__ = ["rollback_stack"]


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
    """Roll back every service of ``stack`` that has a previous spec (or only ``service``)."""
    services = stack_services(client, stack)
    if service is not None:
        services = [s for s in services if s.name in (service, f"{stack}_{service}")]
        if not services:
            raise DeployError(f"stack {stack!r} has no service {service!r}")
    targets = [s for s in services if s.attrs.get("PreviousSpec")]
    if not targets:
        raise DeployError(
            f"no service of stack {stack!r} has a previous spec to roll back to",
            hint="Swarm keeps one previous spec per service, set by its last update",
        )
    before = snapshot(client, stack)
    cli = docker_cli or _docker_cli()
    for target in targets:
        result = subprocess.run(
            [cli, "service", "rollback", "--detach", "--quiet", str(target.name)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            message = " ".join(result.stderr.split()) or f"exit code {result.returncode}"
            raise DeployError(f"docker service rollback {target.name} failed: {message}")
    return wait_for_stack(
        client, stack, before, timeout=timeout, poll=poll, progress=progress, rolling_back=True
    )
