"""One row per service of a stack: image, replicas, health, update state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import docker

from swarmkit.deploy.engine import stack_services
from swarmkit.deploy.models import EngineService, EngineTask
from swarmkit.deploy.state import STEADY_STATES

__all__ = [
    "ServiceStatus",
    "format_status",
    "running_tasks",
    "service_status",
    "stack_status",
    "status_of",
]


@dataclass(frozen=True)
class ServiceStatus:
    """What ``swarmkit status`` shows for one service.

    ``desired`` is ``None`` for a global service with no eligible node yet;
    ``healthy`` counts running tasks whose container reports healthy, or that
    have no healthcheck. ``update_state`` is Swarm's ``UpdateStatus.State``
    (``updating``, ``completed``, ``rollback_completed``, ...) or ``""`` when
    the service was never updated.
    """

    name: str
    image: str
    mode: str
    running: int
    desired: int | None
    healthy: int
    update_state: str
    update_message: str

    @property
    def converged(self) -> bool:
        """All desired tasks run and are healthy, and no update is under way or paused.

        A completed rollback is a steady state (the previous spec runs in
        full), so it counts; the ``UPDATE`` column of ``swarmkit status``
        still shows it, and ``swarmkit deploy`` fails on one it caused.
        More running tasks than desired count too (``4/2``): Swarm can leave
        a second task of the current spec in a slot after a start-first
        update (see :func:`swarmkit.deploy.state.settled`), until the next one.
        """
        return (
            self.desired is not None
            and self.running >= self.desired
            and self.healthy >= self.desired
            and self.update_state in STEADY_STATES
        )


def stack_status(client: docker.DockerClient, stack: str) -> list[ServiceStatus]:
    """The status of every service of ``stack``, sorted by name."""
    return [service_status(client, service) for service in stack_services(client, stack)]


def service_status(client: docker.DockerClient, service: Any) -> ServiceStatus:
    """The status of one docker SDK ``Service``."""
    service.reload()
    return status_of(client, EngineService.parse(service.attrs), running_tasks(service))


def running_tasks(service: Any) -> list[EngineTask]:
    """The tasks of an SDK ``Service`` whose desired state is running."""
    return [EngineTask.parse(t) for t in service.tasks(filters={"desired-state": "running"})]


def status_of(
    client: docker.DockerClient, service: EngineService, tasks: list[EngineTask]
) -> ServiceStatus:
    """The row of ``service``, whose desired-running tasks are ``tasks``."""
    running = [t for t in tasks if t.is_running]
    desired = service.replicas if service.replicas is not None else (len(tasks) or None)
    return ServiceStatus(
        name=service.name,
        image=service.image,
        mode=service.mode,
        running=len(running),
        desired=desired,
        healthy=sum(1 for t in running if _is_healthy(client, t)),
        update_state=service.update.state,
        update_message=service.update.message,
    )


def _is_healthy(client: docker.DockerClient, task: EngineTask) -> bool:
    # Swarm records no health in the task; only the container knows. A
    # container on another node cannot be inspected from the manager: its
    # task counts as healthy once running, since Swarm only marks a task
    # running after its healthcheck passed when it has one.
    if not task.container_id:
        return False
    try:
        container = client.api.inspect_container(task.container_id)
    except docker.errors.NotFound:
        return True
    health = container.get("State", {}).get("Health")
    return health is None or health.get("Status") == "healthy"


def format_status(rows: list[ServiceStatus]) -> str:
    """A fixed-width table, one row per service, with a header."""
    table = [("SERVICE", "IMAGE", "REPLICAS", "HEALTHY", "UPDATE")]
    for row in rows:
        desired = "?" if row.desired is None else str(row.desired)
        table.append(
            (
                row.name,
                row.image,
                f"{row.running}/{desired}",
                f"{row.healthy}/{desired}",
                row.update_state or "-",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join(lines) + "\n"
