"""One row per service of a stack: image, replicas, health, update state, nodes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import docker

from swarmkit.deploy.engine import stack_services
from swarmkit.deploy.models import EngineNode, EngineService, EngineTask
from swarmkit.deploy.state import STEADY_STATES, on_live_nodes, task_is_healthy

__all__ = [
    "LOST_NODE_STATES",
    "ServiceStatus",
    "format_nodes",
    "format_status",
    "list_nodes",
    "lost_nodes",
    "node_hostnames",
    "node_names",
    "running_tasks",
    "service_status",
    "stack_status",
    "status_of",
]

#: A node's ``Status.State`` when the managers cannot reach it.
LOST_NODE_STATES = frozenset({"down", "unknown", "disconnected"})


@dataclass(frozen=True)
class ServiceStatus:
    """What ``swarmkit status`` shows for one service.

    ``desired`` is ``None`` for a global service with no eligible node yet;
    ``healthy`` counts the running tasks that
    :func:`~swarmkit.deploy.state.task_is_healthy` accepts (Swarm's task
    state, on every node). ``update_state`` is Swarm's ``UpdateStatus.State``
    (``updating``, ``completed``, ``rollback_completed``, ...) or ``""`` when
    the service was never updated. ``nodes`` holds the hostname of the node
    of each running task, sorted (a node twice for two tasks).
    """

    name: str
    image: str
    mode: str
    running: int
    desired: int | None
    healthy: int
    update_state: str
    update_message: str
    nodes: tuple[str, ...] = ()

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
    services = stack_services(client, stack)
    listed = list_nodes(client)
    names, lost = node_hostnames(listed), lost_nodes(listed)
    return [service_status(client, service, nodes=names, lost=lost) for service in services]


def service_status(
    client: docker.DockerClient,
    service: Any,
    *,
    nodes: Mapping[str, str] | None = None,
    lost: Collection[str] = (),
) -> ServiceStatus:
    """The status of one docker SDK ``Service``.

    ``nodes`` maps node ids to hostnames (:func:`node_names`) and ``lost``
    holds the ids of nodes that are down (:func:`lost_nodes`); without
    ``nodes`` the swarm's nodes are listed for this one call.
    """
    service.reload()
    if nodes is None:
        listed = list_nodes(client)
        nodes, lost = node_hostnames(listed), lost_nodes(listed)
    return status_of(
        client, EngineService.parse(service.attrs), running_tasks(service), nodes, lost=lost
    )


def running_tasks(service: Any) -> list[EngineTask]:
    """The tasks of an SDK ``Service`` whose desired state is running."""
    return [EngineTask.parse(t) for t in service.tasks(filters={"desired-state": "running"})]


def node_names(client: docker.DockerClient) -> dict[str, str]:
    """Each node's hostname by node id: one ``/nodes`` request (a manager's API).

    Empty when the engine refuses the list; the rows then name nodes by id.
    """
    return node_hostnames(list_nodes(client))


def list_nodes(client: docker.DockerClient) -> list[dict[str, Any]]:
    """The engine's ``/nodes`` JSON: one request; empty when the engine refuses it."""
    try:
        nodes: list[dict[str, Any]] = client.api.nodes()
    except docker.errors.APIError:
        return []
    return nodes


def lost_nodes(nodes: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The ids of nodes the managers cannot reach (state ``down``, ``unknown``, ``disconnected``).

    Swarm goes on listing a dead node's tasks as running (it cannot hear
    otherwise), and a global service keeps its task there until the node
    returns: neither counts, see :func:`~swarmkit.deploy.state.on_live_nodes`.
    """
    parsed = [EngineNode.parse(node) for node in nodes]
    return frozenset(node.id for node in parsed if node.id and node.state in LOST_NODE_STATES)


def node_hostnames(nodes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Hostname by node id from the engine's ``/nodes`` JSON (nodes without one are left out)."""
    parsed = [EngineNode.parse(node) for node in nodes]
    return {node.id: node.hostname for node in parsed if node.id and node.hostname}


def status_of(
    client: docker.DockerClient,
    service: EngineService,
    tasks: list[EngineTask],
    nodes: Mapping[str, str] | None = None,
    *,
    lost: Collection[str] = (),
) -> ServiceStatus:
    """The row of ``service``, whose desired-running tasks are ``tasks``.

    ``nodes`` maps node ids to hostnames; a node it lacks is named by the
    first 12 characters of its id. Tasks on the ``lost`` nodes do not count
    (:func:`~swarmkit.deploy.state.on_live_nodes`).
    """
    tasks = on_live_nodes(tasks, lost)
    running = [t for t in tasks if t.is_running]
    desired = service.replicas if service.replicas is not None else (len(tasks) or None)
    names = nodes or {}
    return ServiceStatus(
        name=service.name,
        image=service.image,
        mode=service.mode,
        running=len(running),
        desired=desired,
        healthy=sum(1 for t in running if task_is_healthy(t, _container(client, t))),
        update_state=service.update.state,
        update_message=service.update.message,
        nodes=tuple(sorted(names.get(t.node_id) or t.node_id[:12] for t in running)),
    )


def _container(client: docker.DockerClient, task: EngineTask) -> dict[str, Any] | None:
    # Only the engine a container runs on knows it: one on another node is
    # not found here, and its task is judged by Swarm's state alone.
    if not task.container_id:
        return None
    try:
        found: dict[str, Any] = client.api.inspect_container(task.container_id)
    except docker.errors.NotFound:
        return None
    return found


def format_nodes(nodes: Iterable[str]) -> str:
    """``m1,m2x2,m3``: each hostname once, sorted, ``x<n>`` for n tasks on it; ``-`` for none."""
    counts = Counter(nodes)
    if not counts:
        return "-"
    return ",".join(
        name if count == 1 else f"{name}x{count}" for name, count in sorted(counts.items())
    )


def format_status(rows: list[ServiceStatus]) -> str:
    """A fixed-width table, one row per service, with a header."""
    table = [("SERVICE", "IMAGE", "REPLICAS", "HEALTHY", "UPDATE", "NODES")]
    for row in rows:
        desired = "?" if row.desired is None else str(row.desired)
        table.append(
            (
                row.name,
                row.image,
                f"{row.running}/{desired}",
                f"{row.healthy}/{desired}",
                row.update_state or "-",
                format_nodes(row.nodes),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join(lines) + "\n"
