"""All of a stack's service logs, merged in time order.

Each line is ``<service>.<slot> | <message>`` (``<service>.<node id>`` for a
global service), like ``docker service logs`` prints for one service; lines
from all services are sorted by the engine's timestamp.
"""

from __future__ import annotations

import heapq
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import docker

from swarmkit.deploy.engine import stack_services
from swarmkit.deploy.models import EngineTask, sortable_time
from swarmkit.exceptions import DeployError, EngineError

__all__ = ["LogLine", "follow_logs", "format_line", "service_lines", "stack_logs"]


@dataclass(frozen=True, order=True)
class LogLine:
    """One log line; ``timestamp`` is RFC 3339 with nanoseconds, as the engine gives it."""

    timestamp: str
    service: str
    task: str
    message: str


def format_line(line: LogLine, *, timestamps: bool = False) -> str:
    """``app.1 | message`` (with the timestamp first when asked)."""
    prefix = f"{line.timestamp} " if timestamps else ""
    return f"{prefix}{line.service}.{line.task} | {line.message}"


def stack_logs(
    client: docker.DockerClient,
    stack: str,
    *,
    service: str | None = None,
    since: int | None = None,
    tail: int | None = None,
) -> list[LogLine]:
    """The logs so far of the stack's services (or of ``service``), in time order.

    ``service`` is the name without the stack prefix (``app``) or with it;
    ``since`` is a UNIX time, ``tail`` the number of last lines per service.
    """
    streams = [
        list(service_lines(client, s, stack, since=since, tail=tail, follow=False))
        for s in _selected(client, stack, service)
    ]
    return list(heapq.merge(*streams))


def follow_logs(
    client: docker.DockerClient,
    stack: str,
    *,
    service: str | None = None,
    since: int | None = None,
    tail: int | None = None,
) -> Iterator[LogLine]:
    """Like :func:`stack_logs`, then follows: yields lines as they come, until closed.

    Lines of different services arriving within the engine's buffering may
    come slightly out of order; each service's lines stay in order. A stream
    that breaks (the engine or the SSH link went away) is an
    :class:`~swarmkit.exceptions.EngineError`, not a wait for ever.
    """
    lines: queue.Queue[LogLine | _Broken] = queue.Queue(maxsize=10_000)

    def pump(svc: Any) -> None:
        try:
            for line in service_lines(client, svc, stack, since=since, tail=tail, follow=True):
                lines.put(line)
        except Exception as exc:  # a thread's error goes to the reader
            # Also what closing the client at the end of a session does to
            # the streams: then nobody reads it, and no traceback is printed.
            lines.put(_Broken(str(svc.name), exc))

    for svc in _selected(client, stack, service):
        threading.Thread(target=pump, args=(svc,), daemon=True).start()
    while True:
        item = lines.get()
        if isinstance(item, _Broken):
            text = str(item.error).strip().splitlines()
            reason = text[0] if text else type(item.error).__name__
            raise EngineError(f"the log stream of {item.service} broke: {reason}")
        yield item


@dataclass(frozen=True)
class _Broken:
    service: str
    error: Exception


def _selected(client: docker.DockerClient, stack: str, service: str | None) -> list[Any]:
    services = stack_services(client, stack)
    if service is None:
        return services
    wanted = {service, f"{stack}_{service}"}
    chosen = [s for s in services if s.name in wanted]
    if not chosen:
        names = ", ".join(_short(str(s.name), stack) for s in services)
        raise DeployError(f"stack {stack!r} has no service {service!r} (it has {names})")
    return chosen


def _short(name: str, stack: str) -> str:
    return name.removeprefix(f"{stack}_")


def service_lines(
    client: docker.DockerClient,
    service: Any,
    stack: str,
    *,
    since: int | None,
    tail: int | None,
    follow: bool,
) -> Iterator[LogLine]:
    """One SDK service's log lines, in time order; ``stack`` is stripped from names.

    ``tail`` is the number of last lines of the service.
    """
    slots = _task_names(service)
    name = _short(str(service.name), stack)
    options: dict[str, Any] = {
        "details": True,
        "follow": follow,
        "stdout": True,
        "stderr": True,
        "timestamps": True,
        "since": since or 0,
        "tail": str(tail) if tail is not None else "all",
    }
    if follow:
        chunks: Iterable[bytes] = client.api.service_logs(service.id, is_tty=False, **options)
        yield from _lines(chunks, name, slots, service)
        return
    # Task by task: the engine's service-wide stream waits for every task of
    # the service, and never ends when one of them never got a container (a
    # task shut down before it started, as a rollback leaves them).
    started = [task.id for task in map(EngineTask.parse, service.tasks()) if task.container_id]
    per_task = [
        sorted(_lines(_task_logs(client, task_id, options), name, slots, service))
        for task_id in started
    ]
    merged = list(heapq.merge(*per_task))
    yield from merged if tail is None else merged[max(0, len(merged) - tail) :]


def _task_logs(client: docker.DockerClient, task_id: str, options: dict[str, Any]) -> Any:
    # The docker SDK has a call for a service's logs, not for one task's: the
    # same request to the engine's /tasks/{id}/logs, through its helpers.
    api = client.api
    response = api._get(api._url("/tasks/{0}/logs", task_id), params=options, stream=True)
    return api._get_result_tty(True, response, False)


def _lines(
    chunks: Iterable[bytes], name: str, slots: dict[str, str], service: Any
) -> Iterator[LogLine]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield _parse(raw.decode("utf-8", "replace"), name, slots, service)
    if pending:
        yield _parse(pending.decode("utf-8", "replace"), name, slots, service)


def _task_names(service: Any) -> dict[str, str]:
    return {task.id: task.label for task in map(EngineTask.parse, service.tasks())}


def _parse(raw: str, name: str, slots: dict[str, str], service: Any) -> LogLine:
    # "<timestamp> com.docker.swarm.node.id=..,com.docker.swarm.service.id=..,
    # com.docker.swarm.task.id=.. <message>": details=True puts the task id in.
    timestamp, _, rest = raw.partition(" ")
    timestamp = sortable_time(timestamp)
    details, _, message = rest.partition(" ")
    attrs = dict(p.split("=", 1) for p in details.split(",") if "=" in p)
    task_id = attrs.get("com.docker.swarm.task.id", "")
    if task_id and task_id not in slots:
        slots.update(_task_names(service))  # a task started after we listed them
    return LogLine(timestamp, name, slots.get(task_id, task_id[:12] or "?"), message)
