"""Roll a stack's services back to their previous spec, and wait.

Swarm keeps one previous spec per service; ``docker service rollback`` asks
for it (the docker SDK has no call for that query), and the wait is the same
as after a deploy, with a completed rollback as the goal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import docker

from swarmkit.deploy.docker_cli import run_docker
from swarmkit.deploy.engine import cli_docker_host, stack_services
from swarmkit.deploy.models import Before, EngineService
from swarmkit.deploy.state import companions_to_roll_back, rollback_targets, rolled_back_since
from swarmkit.deploy.status import ServiceStatus
from swarmkit.deploy.wait import snapshot, wait_for_stack
from swarmkit.exceptions import DeployError, DeployFailedError, RollbackFailedError

__all__ = ["RolledBack", "finish_rollback", "rollback_companions", "rollback_stack"]


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
    that back (deploy the release you want instead). Raises
    :class:`~swarmkit.exceptions.RollbackFailedError` when a rollback
    pauses, cannot pull its image or does not finish within ``timeout``.
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
    try:
        return wait_for_stack(
            client, stack, before, timeout=timeout, poll=poll, progress=progress, rolling_back=True
        )
    except DeployFailedError as exc:
        # A rollback that does not finish leaves both releases running.
        raise RollbackFailedError(
            exc.message, failures=exc.failures, hint=exc.hint or _mixed_hint(stack)
        ) from exc


@dataclass(frozen=True)
class RolledBack:
    """How Swarm's rollback of a failed deploy ended: the previous release runs again.

    ``by_swarm`` names the services Swarm rolled back, ``companions`` the
    other services of the deploy that swarmkit rolled back with them, and
    ``rows`` is the stack's final status (each service converged).
    """

    by_swarm: tuple[str, ...]
    companions: tuple[str, ...]
    rows: tuple[ServiceStatus, ...]

    @property
    def images(self) -> dict[str, list[str]]:
        """The services Swarm rolled back, by the image they run again."""
        out: dict[str, list[str]] = {}
        for row in self.rows:
            if row.name in self.by_swarm:
                out.setdefault(row.image, []).append(row.name)
        return out

    def describe(self) -> str:
        """``rolled back to IMAGE[; rolled back with it: a, b]`` for the error line."""
        images = self.images
        if len(images) == 1:
            text = f"rolled back to {next(iter(images))}"
        else:
            text = "rolled back to " + ", ".join(
                f"{image} ({', '.join(names)})" for image, names in images.items()
            )
        if self.companions:
            text += f"; rolled back with it: {', '.join(self.companions)}"
        return text


def finish_rollback(
    client: docker.DockerClient,
    stack: str,
    before: dict[str, Before],
    *,
    timeout: float = 600,
    poll: float = 1.0,
    progress: Callable[[list[ServiceStatus]], None] | None = None,
    docker_cli: str | None = None,
) -> RolledBack | None:
    """After a failed deploy, see Swarm's rollback through; ``None`` if Swarm rolled nothing back.

    A release is one image for several services (the app and the scheduler
    share it): when Swarm rolls the app back, the scheduler, whose update
    completed, would stay on the broken release. So every service this
    deploy changed (its task template differs from its previous spec) and
    that Swarm did not roll back itself is rolled back too (its
    *companions*). Then the whole stack is waited for, up to ``timeout``
    seconds, until it runs the previous release in full.

    Raises :class:`~swarmkit.exceptions.RollbackFailedError` when it does
    not: a rollback paused (Swarm's ``rollback_config.failure_action``), the
    rolled-back tasks cannot pull their image, or the time ran out. The
    stack then runs a mix of both releases. Nothing is done when no service
    of the stack rolled back since ``before`` (a timeout or a paused update
    is left to the operator).
    """
    services = [EngineService.parse(s.attrs) for s in stack_services(client, stack)]
    by_swarm = [s.name for s in rolled_back_since(services, before)]
    if not by_swarm:
        return None
    names = [c.name for c in companions_to_roll_back(services, before)]
    try:
        _request_rollbacks(client, names, docker_cli)
        # ``before`` is the deploy's: every rollback since is new, so a
        # rollback_paused is a failure even if it paused before this call.
        rows = wait_for_stack(
            client, stack, before, timeout=timeout, poll=poll, progress=progress, rolling_back=True
        )
    except DeployFailedError as exc:
        # "stack S did not converge[ within 60s]: S_app ..." -> "the rollback failed: S_app ..."
        detail = exc.message.removeprefix(f"stack {stack} did not converge")
        detail = f"did not finish{detail}" if detail.startswith(" within") else f"failed{detail}"
        raise RollbackFailedError(
            f"the rollback {detail}",
            failures=exc.failures,
            hint=_mixed_hint(stack),
        ) from exc
    except DeployError as exc:
        raise RollbackFailedError(
            f"rolling back the rest of the release failed: {exc}", hint=_mixed_hint(stack)
        ) from exc
    return RolledBack(tuple(by_swarm), tuple(names), tuple(rows))


def _mixed_hint(stack: str) -> str:
    return (
        f"the previous release is not serving either; swarmkit status {stack} shows what runs "
        "where: make the previous image pullable on the nodes (Swarm retries it) or deploy a "
        "release that works"
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
    """:func:`finish_rollback`, returning only the names of the companions it rolled back."""
    done = finish_rollback(client, stack, before, timeout=timeout, poll=poll, docker_cli=docker_cli)
    return list(done.companions) if done is not None else []


def _request_rollbacks(
    client: docker.DockerClient, names: list[str], docker_cli: str | None
) -> None:
    for name in names:
        run_docker(
            ["service", "rollback", "--detach", "--quiet", name],
            docker_cli=docker_cli,
            docker_host=cli_docker_host(client),
        )
