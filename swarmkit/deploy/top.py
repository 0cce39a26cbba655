"""``swarmkit top``: CPU and memory of a stack's tasks, from the engines that run them.

A container's stats come only from the engine of its node: a manager's API
lists every task of the swarm, but ``GET /containers/{id}/stats`` answers
for its own containers only (there is no swarm-wide stats endpoint). So:

- tasks on the node of the manager the caller talks to (``DOCKER_HOST``,
  ``ssh://`` included) are measured through that manager's engine;
- tasks on another node are measured through that node's own engine when
  the caller names it (``node_hosts``: ``--node-host NODE=URL``, with
  ``tcp://``, ``unix://`` or ``ssh://`` URLs, one SSH login per node);
- any other task is listed with why it has no figures (no engine named for
  its node, its engine does not answer, or the node is down).

Not an agent service in the stack: it would need the engine socket mounted
into a global service on every node (root on each node, for a read-only
view), a port or overlay to collect from, and an image to ship and keep
patched, while every node's engine already serves the same figures to
whoever may reach it. ``docs/operations.md`` says how to reach them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import docker.utils

from swarmkit.deploy.engine import stack_services
from swarmkit.deploy.models import EngineNode, EngineService, EngineTask
from swarmkit.deploy.status import LOST_NODE_STATES, list_nodes, running_tasks
from swarmkit.deploy.usage import (
    Resources,
    ServiceUsage,
    TaskUsage,
    cpu_percent,
    memory_bytes,
)
from swarmkit.exceptions import EngineError, SwarmkitError
from swarmkit.tunnel import ssh_tunnel

__all__ = ["NodeEngines", "measure_task", "node_engines", "stack_top", "watch_top"]

# Each stats request takes about a second (the engine waits for a second
# sample): measure tasks side by side, within the SDK's pool of 10 per engine.
_WORKERS = 8


@dataclass
class NodeEngines:
    """The engine that measures each node's tasks, by node id, and why some have none.

    ``nodes`` is the swarm's node list (:class:`EngineNode`), ``clients`` the
    engines that answer, ``unreachable`` a one-line reason for each node
    named with ``--node-host`` whose engine does not.
    """

    nodes: dict[str, EngineNode]
    clients: dict[str, docker.DockerClient] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)

    def hostname(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return (node.hostname if node else "") or node_id[:12]

    def why_not(self, node_id: str) -> str:
        """Why the tasks of ``node_id`` cannot be measured (``""``: they can)."""
        node = self.nodes.get(node_id)
        if node is not None and node.state in LOST_NODE_STATES:
            return f"node {self.hostname(node_id)} is {node.state}"
        if node_id in self.clients:
            return ""
        if node_id in self.unreachable:
            return self.unreachable[node_id]
        name = self.hostname(node_id)
        return f"node {name} not reachable (--node-host {name}=URL)"


@contextlib.contextmanager
def node_engines(
    client: docker.DockerClient, node_hosts: Mapping[str, str] | None = None, *, timeout: int = 30
) -> Iterator[NodeEngines]:
    """The engines to measure with, for the ``with`` block.

    ``client`` is the manager's (it measures its own node's tasks);
    ``node_hosts`` maps a node's hostname or id to the URL of its engine.
    Each such engine is asked which node it is, so that a wrong URL cannot
    measure the wrong node's containers. A node the swarm does not list is
    :class:`EngineError`; an engine that does not answer, or is another
    node's, makes that node unreachable (with the reason), not an error.
    Clients and ssh tunnels opened here are closed when the block ends.
    """
    nodes = {n.id: n for n in (EngineNode.parse(raw) for raw in list_nodes(client)) if n.id}
    engines = NodeEngines(nodes=nodes)
    local = _node_id(client)
    if local:
        engines.clients[local] = client
    with contextlib.ExitStack() as stack:
        for name, url in (node_hosts or {}).items():
            node_id = _find_node(nodes, name)
            try:
                engines.clients[node_id] = _open(stack, url, node_id, timeout)
            except (SwarmkitError, docker.errors.DockerException, OSError) as exc:
                engines.clients.pop(node_id, None)
                engines.unreachable[node_id] = f"cannot measure on {url}: {_first_line(exc)}"
        yield engines


def _find_node(nodes: Mapping[str, EngineNode], name: str) -> str:
    for node in nodes.values():
        if name in (node.id, node.hostname):
            return node.id
    matches = [node.id for node in nodes.values() if node.id.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    raise EngineError(
        f"--node-host: no node named {name!r} in this swarm", hint="docker node ls lists them"
    )


def _open(stack: contextlib.ExitStack, url: str, node_id: str, timeout: int) -> docker.DockerClient:
    base_url = url
    kwargs: dict[str, Any] = {}
    if url.startswith("ssh://"):
        # One login for the whole command, as for DOCKER_HOST (swarmkit.tunnel).
        base_url = stack.enter_context(ssh_tunnel(url)).docker_host
    elif url.startswith("tcp://"):
        # DOCKER_TLS_VERIFY and DOCKER_CERT_PATH apply, as for DOCKER_HOST.
        kwargs = docker.utils.kwargs_from_env(environment={**os.environ, "DOCKER_HOST": url})
        kwargs.pop("base_url", None)
    elif not url.startswith("unix://"):
        raise EngineError("not a tcp://, unix:// or ssh:// URL")
    # version=None asks the engine: an engine that does not answer fails here.
    node_client = docker.DockerClient(base_url=base_url, timeout=timeout, **kwargs)
    stack.callback(node_client.close)
    found = _node_id(node_client)
    if found != node_id:
        raise EngineError(f"that engine is node {found[:12] or '(not in a swarm)'}, not this one")
    return node_client


def _node_id(client: docker.DockerClient) -> str:
    info: dict[str, Any] = client.info()
    return str((info.get("Swarm") or {}).get("NodeID") or "")


def measure_task(client: docker.DockerClient, task: EngineTask, name: str, node: str) -> TaskUsage:
    """One task's figures from the engine of its node (one stats request, about a second)."""
    if not task.container_id:
        return TaskUsage(task.id, name, node, error="no container yet")
    try:
        stats: dict[str, Any] = client.api.stats(task.container_id, stream=False)
    except docker.errors.NotFound:
        # Replaced between the task list and now, or not this engine's container.
        return TaskUsage(task.id, name, node, error="container gone")
    except (docker.errors.DockerException, OSError) as exc:
        return TaskUsage(task.id, name, node, error=f"stats failed: {_first_line(exc)}")
    cpu, memory = cpu_percent(stats), memory_bytes(stats)
    if cpu is None or memory is None:
        return TaskUsage(task.id, name, node, error="container not running")
    limit = (stats.get("memory_stats") or {}).get("limit")
    return TaskUsage(
        task.id,
        name,
        node,
        cpu_percent=cpu,
        memory_bytes=memory,
        memory_limit=int(limit) if isinstance(limit, int) else None,
    )


def stack_top(client: docker.DockerClient, stack: str, engines: NodeEngines) -> list[ServiceUsage]:
    """Every service of ``stack`` with its running tasks' figures, sorted by name.

    ``client`` is the manager's; ``engines`` (:func:`node_engines`) measures.
    :class:`StackNotFoundError` for an unknown stack.
    """
    planned: list[tuple[EngineService, list[Callable[[], TaskUsage]]]] = []
    for service in stack_services(client, stack):
        parsed = EngineService.parse(service.attrs)
        jobs: list[Callable[[], TaskUsage]] = []
        for task in sorted(running_tasks(service), key=lambda t: (t.slot or 0, t.node_id)):
            if not task.is_running:
                continue
            name, node = f"{parsed.name}.{task.label}", engines.hostname(task.node_id)
            why = engines.why_not(task.node_id)
            if why:
                jobs.append(functools.partial(TaskUsage, task.id, name, node, error=why))
            else:
                on = engines.clients[task.node_id]
                jobs.append(functools.partial(measure_task, on, task, name, node))
        planned.append((parsed, jobs))
    every = [job for _, jobs in planned for job in jobs]
    with ThreadPoolExecutor(max_workers=max(1, min(_WORKERS, len(every)))) as pool:
        results = iter(list(pool.map(lambda job: job(), every)))
    return [
        ServiceUsage(
            name=parsed.name,
            short_name=parsed.short_name,
            resources=Resources.parse(parsed.task_template),
            tasks=tuple(next(results) for _ in jobs),
        )
        for parsed, jobs in planned
    ]


def watch_top(
    client: docker.DockerClient,
    stack: str,
    engines: NodeEngines,
    *,
    interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[list[ServiceUsage]]:
    """:func:`stack_top` again and again, a frame every ``interval`` seconds, until closed.

    The time a measurement takes (about a second) counts into the interval.
    """
    while True:
        started = time.monotonic()
        yield stack_top(client, stack, engines)
        sleep(max(0.0, interval - (time.monotonic() - started)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
