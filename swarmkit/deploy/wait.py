"""Wait until a stack has converged, or report why it did not.

:func:`snapshot` records each service's version and update status before a
deploy; :func:`wait_for_stack` then takes only an update status that is new
since the snapshot for the outcome of this deploy, so a ``rollback_completed``
left by an earlier deploy is never mistaken for this one's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docker

from swarmkit.deploy.engine import sortable_time, stack_services
from swarmkit.deploy.status import ServiceStatus, service_status
from swarmkit.exceptions import DeployFailedError, StackNotFoundError

__all__ = ["Before", "failure_report", "snapshot", "wait_for_stack"]

FAILED_STATES = frozenset({"rollback_started", "rollback_paused", "rollback_completed", "paused"})
ROLLBACK_FAILED_STATES = frozenset({"rollback_paused", "paused"})


@dataclass(frozen=True)
class Before:
    """A service as it was before the deploy."""

    version: int
    update_state: str
    update_started: str


def snapshot(client: docker.DockerClient, stack: str) -> dict[str, Before]:
    """Each existing service of ``stack`` by name; empty for a new stack."""
    try:
        services = stack_services(client, stack)
    except StackNotFoundError:
        return {}
    return {str(s.name): _before(s.attrs) for s in services}


def _before(attrs: dict[str, Any]) -> Before:
    update = attrs.get("UpdateStatus") or {}
    return Before(
        version=int(attrs["Version"]["Index"]),
        update_state=str(update.get("State", "")),
        update_started=str(update.get("StartedAt", "")),
    )


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
    pauses its update (after this deploy), or after ``timeout`` seconds.
    With ``rolling_back`` (after a requested rollback) a completed rollback
    is the goal and only a paused one fails.
    """
    failed_states = ROLLBACK_FAILED_STATES if rolling_back else FAILED_STATES
    busy_states = ("rollback_started",) if rolling_back else ("updating",)
    deadline = time.monotonic() + timeout
    while True:
        services = stack_services(client, stack)
        rows: list[ServiceStatus] = []
        failed: list[tuple[Any, str]] = []
        pending = False
        for service in services:
            row = service_status(client, service)
            rows.append(row)
            state = _new_state(service.attrs, before.get(row.name))
            if state in failed_states:
                failed.append((service, f"update {state}: {row.update_message}".rstrip(": ")))
            elif state in busy_states or not _settled(client, service, row):
                pending = True
        if progress is not None:
            progress(rows)
        if failed:
            raise DeployFailedError(
                f"stack {stack} did not converge: "
                + ", ".join(f"{s.name} {why}" for s, why in failed),
                failures=tuple(failure_report(client, s, why) for s, why in failed),
            )
        if not pending:
            return rows
        if time.monotonic() > deadline:
            late = [
                (s, "timed out") for s, r in zip(services, rows, strict=True) if not r.converged
            ]
            raise DeployFailedError(
                f"stack {stack} did not converge within {timeout:g}s: "
                + ", ".join(
                    f"{r.name} {r.running}/{r.desired} running" for r in rows if not r.converged
                ),
                failures=tuple(failure_report(client, s, why) for s, why in late),
                hint="swarmkit status and swarmkit logs show more",
            )
        time.sleep(poll)


def _new_state(attrs: dict[str, Any], old: Before | None) -> str:
    """The update state if this deploy caused it, else ``""``."""
    now = _before(attrs)
    if old is not None and (now.update_state, now.update_started) == (
        old.update_state,
        old.update_started,
    ):
        return ""
    return now.update_state


def _settled(client: docker.DockerClient, service: Any, row: ServiceStatus) -> bool:
    # Right after an update the old tasks still run, healthy, in full number:
    # only tasks made from the current spec count.
    if row.desired is None or row.healthy < row.desired:
        return False
    spec = service.attrs["Spec"]["TaskTemplate"]
    wanted = (spec.get("ContainerSpec"), spec.get("ForceUpdate", 0))
    tasks = service.tasks(filters={"desired-state": "running"})
    current = [
        t
        for t in tasks
        if (t["Spec"].get("ContainerSpec"), t["Spec"].get("ForceUpdate", 0)) == wanted
        and t["Status"]["State"] == "running"
    ]
    return len(current) >= row.desired and len(tasks) == row.desired


def failure_report(client: docker.DockerClient, service: Any, why: str, *, lines: int = 10) -> str:
    """What happened to ``service`` in its last update, as text.

    The tasks the update started and that stopped (state, exit code, error,
    and a failed healthcheck's last output), then the last log lines of the
    newest failed one.
    """
    stack = service.attrs["Spec"]["Labels"].get("com.docker.stack.namespace", "")
    name = str(service.name).removeprefix(f"{stack}_")
    # Tasks of earlier updates (an earlier broken release, say) tell nothing
    # about this one.
    started = sortable_time(str((service.attrs.get("UpdateStatus") or {}).get("StartedAt", "")))
    tasks = [t for t in service.tasks() if sortable_time(str(t.get("CreatedAt", ""))) >= started]
    tasks.sort(key=lambda t: sortable_time(str(t.get("UpdatedAt", ""))), reverse=True)
    out = [f"{service.name}: {why}"]
    tail: list[str] = []
    for task in tasks[:5]:
        status = task["Status"]
        if status["State"] in ("running", "new", "pending", "assigned", "accepted", "starting"):
            continue
        container = status.get("ContainerStatus", {})
        code = container.get("ExitCode")
        err = status.get("Err") or status.get("Message", "")
        probe = _failed_probe(client, container)
        out.append(
            f"  task {task['ID'][:12]} slot {task.get('Slot', '-')}: {status['State']}"
            f"{f' (exit code {code})' if code is not None else ''}: {err}"
            f"{f'; unhealthy, last probe: {probe}' if probe is not None else ''}"
        )
        failed = status["State"] in ("failed", "rejected") or bool(code) or probe is not None
        if failed and not tail:
            # The failed task's own last words, from its container: the
            # engine's service-logs stream can hang with a tail on a busy service.
            label = f"{name}.{task.get('Slot') or str(task.get('NodeID', ''))[:12]}"
            tail = [f"  {label} | {line}" for line in _last_lines(client, container, lines)]
    return "\n".join(out + tail)


def _inspect(client: docker.DockerClient, container: dict[str, Any]) -> dict[str, Any] | None:
    container_id = container.get("ContainerID")
    if not container_id:
        return None
    try:
        found: dict[str, Any] = client.api.inspect_container(container_id)
    except docker.errors.APIError:
        return None  # removed, or on another node
    return found


def _failed_probe(client: docker.DockerClient, container: dict[str, Any]) -> str | None:
    """The last healthcheck output of a container that ended unhealthy, else ``None``."""
    found = _inspect(client, container)
    health = (found or {}).get("State", {}).get("Health") or {}
    if health.get("Status") != "unhealthy":
        return None
    probes = health.get("Log") or [{}]
    output = " ".join(str(probes[-1].get("Output", "")).split())
    return output[:200] or f"exit code {probes[-1].get('ExitCode')}"


def _last_lines(client: docker.DockerClient, container: dict[str, Any], lines: int) -> list[str]:
    if _inspect(client, container) is None:
        return []
    try:
        raw: bytes = client.api.logs(container["ContainerID"], stdout=True, stderr=True, tail=lines)
    except docker.errors.APIError:
        return []
    return raw.decode("utf-8", "replace").splitlines()[-lines:]
