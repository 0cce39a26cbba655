"""Roll a stack's services back to their previous spec, and wait.

Swarm keeps one previous spec per service; ``docker service rollback`` asks
for it (the docker SDK has no call for that query), and the wait is the same
as after a deploy, with a completed rollback as the goal.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import docker

from swarmkit.deploy.deploy import _docker_cli
from swarmkit.deploy.engine import stack_services
from swarmkit.deploy.status import ServiceStatus
from swarmkit.deploy.wait import Before, snapshot, wait_for_stack
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
    targets = [
        s
        for s in services
        if _changed(s.attrs)
        and not str((s.attrs.get("UpdateStatus") or {}).get("State", "")).startswith("rollback")
    ]
    if not targets:
        raise DeployError(
            f"nothing to roll back in stack {stack!r}: no service's previous spec differs "
            "from its spec, or its last change was a rollback",
            hint="Swarm keeps one previous spec per service; deploy the release you want",
        )
    before = snapshot(client, stack)
    _request_rollbacks(targets, docker_cli)
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
    services = stack_services(client, stack)
    states = {str(s.name): (s.attrs.get("UpdateStatus") or {}) for s in services}
    rolled_back = [
        name
        for name, update in states.items()
        if str(update.get("State", "")).startswith("rollback")
        and name in before
        and (update.get("State"), update.get("StartedAt"))
        != (before[name].update_state, before[name].update_started)
    ]
    if not rolled_back:
        return []
    companions = [
        s
        for s in services
        if str(s.name) in before
        and str(s.name) not in rolled_back
        and s.attrs["Version"]["Index"] != before[str(s.name)].version
        and _changed(s.attrs)
    ]
    if not companions:
        return []
    now = snapshot(client, stack)
    _request_rollbacks(companions, docker_cli)
    wait_for_stack(client, stack, now, timeout=timeout, poll=poll, rolling_back=True)
    return [str(s.name) for s in companions]


def _changed(attrs: dict[str, Any]) -> bool:
    """Whether the service's tasks would change if it went back to its previous spec."""
    previous = attrs.get("PreviousSpec")
    if not previous:
        return False
    return bool(previous.get("TaskTemplate") != attrs["Spec"].get("TaskTemplate"))


def _request_rollbacks(services: list[Any], docker_cli: str | None) -> None:
    cli = docker_cli or _docker_cli()
    for target in services:
        result = subprocess.run(
            [cli, "service", "rollback", "--detach", "--quiet", str(target.name)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            message = " ".join(result.stderr.split()) or f"exit code {result.returncode}"
            raise DeployError(f"docker service rollback {target.name} failed: {message}")
