"""Wait until a stack has converged, or report why it did not.

:func:`snapshot` records each service's version and update status before a
deploy; :func:`wait_for_stack` then takes only an update status that is new
since the snapshot for the outcome of this deploy, so a ``rollback_completed``
left by an earlier deploy is never mistaken for this one's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import docker

from swarmkit.deploy.engine import stack_services
from swarmkit.deploy.models import Before, EngineService, EngineTask
from swarmkit.deploy.state import extra_tasks, on_live_nodes, outcome, pull_failures, settled
from swarmkit.deploy.status import (
    ServiceStatus,
    list_nodes,
    lost_nodes,
    node_hostnames,
    status_of,
)
from swarmkit.exceptions import DeployFailedError, StackNotFoundError

__all__ = ["Before", "failure_report", "registry_of", "snapshot", "wait_for_stack"]


def snapshot(client: docker.DockerClient, stack: str) -> dict[str, Before]:
    """Each existing service of ``stack`` by name; empty for a new stack."""
    try:
        services = stack_services(client, stack)
    except StackNotFoundError:
        return {}
    return {str(s.name): Before.of(EngineService.parse(s.attrs)) for s in services}


def wait_for_stack(
    client: docker.DockerClient,
    stack: str,
    before: dict[str, Before],
    *,
    timeout: float = 600,
    poll: float = 1.0,
    progress: Callable[[list[ServiceStatus]], None] | None = None,
    rolling_back: bool = False,
) -> list[ServiceStatus]:
    """Poll until every service runs its desired, healthy, up-to-date tasks.

    Raises :class:`DeployFailedError` when Swarm rolls a service back or
    pauses its update (after this deploy), at once when a service's tasks
    are rejected because their nodes cannot pull its image (see
    :func:`~swarmkit.deploy.state.pull_failures`: Swarm would retry
    forever), or after ``timeout`` seconds. With ``rolling_back`` (after a
    requested rollback) a completed rollback is the goal and only a paused
    one fails.
    """
    deadline = time.monotonic() + timeout
    listed = list_nodes(client)
    names, lost = node_hostnames(listed), lost_nodes(listed)
    asked: set[str] = set()  # node ids the list lacked: asked again only once each
    while True:
        # All tasks, history included, in one request per service: the
        # rejected ones are no longer meant to run.
        polled = [
            (s, EngineService.parse(s.attrs), [EngineTask.parse(t) for t in s.tasks()])
            for s in stack_services(client, stack)
        ]
        unknown = {t.node_id for _, _, h in polled for t in h if t.is_running} - set(names)
        if unknown - asked or lost:
            # A node joined since; or one is down, and may come back.
            asked |= unknown
            listed = list_nodes(client)
            names, lost = node_hostnames(listed), lost_nodes(listed)
        rows: list[ServiceStatus] = []
        failed: list[tuple[Any, str]] = []
        unpullable: list[tuple[Any, str]] = []
        late: list[tuple[Any, ServiceStatus, str]] = []
        for sdk_service, service, history in polled:
            tasks = on_live_nodes([t for t in history if t.desired_state == "running"], lost)
            row = status_of(client, service, tasks, names)
            rows.append(row)
            verdict = outcome(service, before.get(row.name), rolling_back=rolling_back)
            if verdict == "failed":
                why = f"update {service.update.state}: {row.update_message}".rstrip(": ")
                failed.append((sdk_service, why))
            elif verdict == "busy" or not settled(
                service, tasks, desired=row.desired, healthy=row.healthy
            ):
                # During an update Swarm's failure action deals with a
                # rejected task (a rollback then takes the rest along).
                pulls = pull_failures(service, history) if verdict == "" else []
                if pulls:
                    unpullable.append((sdk_service, _cannot_pull(service, pulls, names)))
                else:
                    late.append((sdk_service, row, _lateness(service, tasks, row)))
        if progress is not None:
            progress(rows)
        if failed or unpullable:
            raise DeployFailedError(
                f"stack {stack} did not converge: "
                + ", ".join(f"{s.name} {why}" for s, why in failed + unpullable),
                failures=tuple(
                    failure_report(client, s, why, nodes=names) for s, why in failed + unpullable
                ),
                hint=_pull_hint([s for s, _ in unpullable]) if unpullable else None,
            )
        if not late:
            return rows
        if time.monotonic() > deadline:
            raise DeployFailedError(
                f"stack {stack} did not converge within {timeout:g}s: "
                + ", ".join(f"{r.name} {why}" for _, r, why in late),
                failures=tuple(
                    failure_report(client, s, "timed out", nodes=names) for s, _, _ in late
                ),
                hint="swarmkit status and swarmkit logs show more",
            )
        time.sleep(poll)


def _cannot_pull(service: EngineService, pulls: list[EngineTask], names: Mapping[str, str]) -> str:
    """``cannot pull its image IMAGE on m1, m2: <the engine's errors>``."""
    nodes = sorted({names.get(t.node_id) or t.node_id[:12] for t in pulls})
    errors = "; ".join(dict.fromkeys(t.error for t in pulls))
    return f"cannot pull its image {service.image} on {', '.join(nodes)}: {errors}"


def registry_of(image: str) -> str:
    """The registry an image reference names (``""`` for Docker Hub), as the docker CLI reads it."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return ""


def _pull_hint(services: list[Any]) -> str:
    registries = sorted({registry_of(EngineService.parse(s.attrs).image) for s in services})
    logins = ", ".join(f"docker login {r}".rstrip() for r in registries)
    return (
        f"log in to the registry ({logins}) and deploy again: swarmkit deploy passes the "
        "login to the nodes with --with-registry-auth; check the image name and tag and that "
        "the nodes reach the registry; Swarm retries meanwhile"
    )


def _lateness(service: EngineService, tasks: list[EngineTask], row: ServiceStatus) -> str:
    """What a service still waits for, for the timeout message."""
    desired = "?" if row.desired is None else str(row.desired)
    text = f"{row.running}/{desired} running"
    if service.update.state:
        text += f" ({service.update.state})"
    extra = extra_tasks(service, tasks)
    if extra:
        slots = ", ".join(sorted({t.label for t in extra}))
        text += f", slot {slots} still runs a task of an earlier spec"
    return text


def failure_report(
    client: docker.DockerClient,
    service: Any,
    why: str,
    *,
    lines: int = 10,
    nodes: Mapping[str, str] | None = None,
) -> str:
    """What happened to ``service`` in its last update, as text.

    The tasks the update started and that stopped, newest first, each
    different one once (a slot Swarm keeps rejecting, say for an image its
    node cannot pull, is one line): state, node, exit code, error, and a
    failed healthcheck's last output; then the last log lines of the newest
    failed one. ``nodes`` maps node ids to hostnames (a node it lacks is
    named by its id's first 12 characters).
    """
    parsed = EngineService.parse(service.attrs)
    names = nodes or {}
    # Tasks of earlier updates (an earlier broken release, say) tell nothing
    # about this one.
    started = parsed.update.started_at
    tasks = [t for t in map(EngineTask.parse, service.tasks()) if t.created_at >= started]
    tasks.sort(key=lambda t: t.updated_at, reverse=True)
    out = [f"{service.name}: {why}"]
    tail: list[str] = []
    seen: set[tuple[str, str, str, int | None]] = set()
    for task in tasks:
        if len(seen) == 5:
            break
        # A task that never had a container (rejected) has no exit code.
        code = task.exit_code if task.container_id else None
        if not task.has_stopped or (task.label, task.state, task.error, code) in seen:
            continue
        seen.add((task.label, task.state, task.error, code))
        probe = _failed_probe(client, task.container_id)
        node = names.get(task.node_id) or task.node_id[:12]
        out.append(
            f"  task {task.id[:12]} slot {task.slot or '-'}{f' on {node}' if node else ''}: "
            f"{task.state}{f' (exit code {code})' if code is not None else ''}: {task.error}"
            f"{f'; unhealthy, last probe: {probe}' if probe is not None else ''}"
        )
        failed = task.state in ("failed", "rejected") or bool(code) or probe is not None
        if failed and not tail:
            # The failed task's own last words, from its container: the
            # engine's service-logs stream can hang with a tail on a busy service.
            label = f"{parsed.short_name}.{task.label}"
            tail = [f"  {label} | {line}" for line in _last_lines(client, task.container_id, lines)]
    return "\n".join(out + tail)


def _inspect(client: docker.DockerClient, container_id: str) -> dict[str, Any] | None:
    if not container_id:
        return None
    try:
        found: dict[str, Any] = client.api.inspect_container(container_id)
    except docker.errors.APIError:
        return None  # removed, or on another node
    return found


def _failed_probe(client: docker.DockerClient, container_id: str) -> str | None:
    """The last healthcheck output of a container that ended unhealthy, else ``None``."""
    found = _inspect(client, container_id)
    health = (found or {}).get("State", {}).get("Health") or {}
    if health.get("Status") != "unhealthy":
        return None
    probes = health.get("Log") or [{}]
    output = " ".join(str(probes[-1].get("Output", "")).split())
    return output[:200] or f"exit code {probes[-1].get('ExitCode')}"


def _last_lines(client: docker.DockerClient, container_id: str, lines: int) -> list[str]:
    if _inspect(client, container_id) is None:
        return []
    try:
        raw: bytes = client.api.logs(container_id, stdout=True, stderr=True, tail=lines)
    except docker.errors.APIError:
        return []
    return raw.decode("utf-8", "replace").splitlines()[-lines:]
