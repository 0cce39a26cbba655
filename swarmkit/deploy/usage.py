"""CPU and memory of tasks, as ``docker stats`` computes them, and the rows of ``swarmkit top``.

No engine call here: :func:`cpu_percent` and :func:`memory_bytes` read one
reply of the engine's ``GET /containers/{id}/stats?stream=false`` (the SDK's
``container.stats(stream=False)``), so the tests run them on recorded JSON
(``tests/deploy/recorded/stats_*.json``). The formulas are the docker CLI's
(``cli/command/container/stats_helpers.go``: ``calculateCPUPercentUnix``
and ``calculateMemUsageUnixNoCache``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Resources",
    "ServiceUsage",
    "TaskUsage",
    "cpu_percent",
    "format_bytes",
    "format_top",
    "memory_bytes",
    "top_json",
]


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def cpu_percent(stats: Mapping[str, Any]) -> float | None:
    """CPU use over the reply's two samples, in percent of one CPU (200.0: two CPUs busy).

    ``cpu_delta / system_delta * online_cpus * 100``, as ``docker stats``:
    ``system_cpu_usage`` counts the host's CPU time over all CPUs, so the
    ratio is the container's share of the whole host, and ``online_cpus``
    scales it to CPUs. ``stream=false`` makes the engine wait for a second
    sample (about a second) and fill ``precpu_stats`` with the first; a
    ``one-shot`` reply has no ``precpu_stats``, and gives ``None``, as
    does a container that stopped (no system time passed). A container
    that used no CPU in the window gives ``0.0``.
    """
    now, before = _dict(stats.get("cpu_stats")), _dict(stats.get("precpu_stats"))
    used = _int(_dict(now.get("cpu_usage")).get("total_usage"))
    used_before = _int(_dict(before.get("cpu_usage")).get("total_usage"))
    system = _int(now.get("system_cpu_usage"))
    system_before = _int(before.get("system_cpu_usage"))
    if not system_before or system <= system_before:
        return None
    cpus = _int(now.get("online_cpus")) or len(
        _dict(now.get("cpu_usage")).get("percpu_usage") or ()
    )
    delta = used - used_before
    if delta <= 0:
        return 0.0
    return delta / (system - system_before) * (cpus or 1) * 100.0


def memory_bytes(stats: Mapping[str, Any]) -> int | None:
    """Memory in use without the page cache the kernel can drop, as ``docker stats`` shows it.

    ``usage`` minus the inactive file pages: ``total_inactive_file`` under
    cgroup v1, ``inactive_file`` under cgroup v2 (where the ``total_`` keys
    are gone); usage as is when the subtraction would go below zero.
    ``None`` when the reply has no memory figures (a stopped container).
    """
    memory = _dict(stats.get("memory_stats"))
    if "usage" not in memory:
        return None
    usage = _int(memory.get("usage"))
    detail = _dict(memory.get("stats"))
    key = "total_inactive_file" if "total_inactive_file" in detail else "inactive_file"
    inactive = _int(detail.get(key))
    return usage - inactive if inactive < usage else usage


@dataclass(frozen=True)
class Resources:
    """A service's ``TaskTemplate.Resources``: per task; ``None`` where the spec sets none.

    CPUs are in CPUs (``NanoCPUs / 1e9``: the stack file's ``cpus: "0.5"``).
    """

    cpu_limit: float | None = None
    memory_limit: int | None = None
    cpu_reservation: float | None = None
    memory_reservation: int | None = None

    @classmethod
    def parse(cls, task_template: Mapping[str, Any]) -> Resources:
        resources = _dict(task_template.get("Resources"))
        limits, reservations = _dict(resources.get("Limits")), _dict(resources.get("Reservations"))
        return cls(
            cpu_limit=_int(limits.get("NanoCPUs")) / 1e9 or None,
            memory_limit=_int(limits.get("MemoryBytes")) or None,
            cpu_reservation=_int(reservations.get("NanoCPUs")) / 1e9 or None,
            memory_reservation=_int(reservations.get("MemoryBytes")) or None,
        )

    def times(self, count: int) -> Resources:
        """What ``count`` tasks are allowed and reserved together."""
        return Resources(
            cpu_limit=None if self.cpu_limit is None else self.cpu_limit * count,
            memory_limit=None if self.memory_limit is None else self.memory_limit * count,
            cpu_reservation=None if self.cpu_reservation is None else self.cpu_reservation * count,
            memory_reservation=(
                None if self.memory_reservation is None else self.memory_reservation * count
            ),
        )


@dataclass(frozen=True)
class TaskUsage:
    """One running task: its figures, or why it has none (``error``).

    ``name`` is ``<service>.<slot>`` (``<service>.<node id prefix>`` for a
    global service), ``node`` the hostname of its node. ``cpu_percent`` is
    in percent of one CPU; ``memory_limit`` is the container's own limit as
    its engine reports it (the host's memory when the spec sets none).
    """

    id: str
    name: str
    node: str
    cpu_percent: float | None = None
    memory_bytes: int | None = None
    memory_limit: int | None = None
    error: str = ""

    @property
    def measured(self) -> bool:
        return self.cpu_percent is not None and self.memory_bytes is not None


@dataclass(frozen=True)
class ServiceUsage:
    """A service, its per-task ``resources`` and its running ``tasks``.

    The sums count the measured tasks only; :attr:`total_resources` is the
    limits and reservations of those tasks together, what the sums compare with.
    """

    name: str
    resources: Resources
    tasks: tuple[TaskUsage, ...] = field(default=())
    #: The name without the stack's prefix (``app``); the task rows use it.
    short_name: str = ""

    @property
    def measured(self) -> tuple[TaskUsage, ...]:
        return tuple(t for t in self.tasks if t.measured)

    @property
    def cpu_percent(self) -> float | None:
        measured = self.measured
        return sum(t.cpu_percent or 0.0 for t in measured) if measured else None

    @property
    def memory_bytes(self) -> int | None:
        measured = self.measured
        return sum(t.memory_bytes or 0 for t in measured) if measured else None

    @property
    def total_resources(self) -> Resources:
        return self.resources.times(len(self.measured))


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_bytes(value: int | None) -> str:
    """``73.4MiB``, as ``docker stats`` writes sizes (binary units); ``-`` for none."""
    if value is None:
        return "-"
    size = float(value)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _cpus(value: float | None) -> str:
    # A limit in the CPU column's unit: 0.5 CPUs is 50% of one CPU.
    return "-" if value is None else f"{value * 100:.0f}%"


def _row(name: str, node: str, figures: tuple[str, str], res: Resources, note: str) -> list[str]:
    cpu, mem = figures
    return [
        name,
        node,
        cpu,
        _cpus(res.cpu_limit),
        _cpus(res.cpu_reservation),
        mem,
        format_bytes(res.memory_limit),
        format_bytes(res.memory_reservation),
        note,
    ]


def format_top(services: Iterable[ServiceUsage]) -> str:
    """A fixed-width table: a row per service (the sums), then a row per task under it."""
    header = "SERVICE / TASK|NODE|CPU|CPU LIMIT|CPU RES|MEMORY|MEM LIMIT|MEM RES|NOTE"
    table = [header.split("|")]
    for service in services:
        count, measured = len(service.tasks), len(service.measured)
        note = "" if measured == count else f"{measured} of {count} tasks measured"
        if not count:
            note = "no running task"
        table.append(
            _row(
                service.name,
                "",
                (_percent(service.cpu_percent), format_bytes(service.memory_bytes)),
                service.total_resources,
                note,
            )
        )
        short = service.short_name or service.name
        for task in service.tasks:
            table.append(
                _row(
                    # "  app.2": the service's name without the stack's prefix.
                    f"  {short}{task.name.removeprefix(service.name)}",
                    task.node,
                    (
                        (_percent(task.cpu_percent), format_bytes(task.memory_bytes))
                        if task.measured
                        else ("?", "?")
                    ),
                    service.resources,
                    task.error,
                )
            )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join(lines) + "\n"


def _resources(res: Resources) -> dict[str, Any]:
    return {
        "limits": {"cpus": res.cpu_limit, "memory_bytes": res.memory_limit},
        "reservations": {"cpus": res.cpu_reservation, "memory_bytes": res.memory_reservation},
    }


def top_json(services: Iterable[ServiceUsage], *, indent: int | None = 2) -> str:
    """The figures as JSON: a list of services, each with its sums and its tasks.

    Per service: ``cpu_percent`` and ``memory_bytes`` (sums over the measured
    tasks, ``null`` if none), ``resources`` (per task) and ``total_resources``
    (the measured tasks' together); per task the :class:`TaskUsage` fields.
    """
    out = [
        {
            "name": s.name,
            "cpu_percent": None if s.cpu_percent is None else round(s.cpu_percent, 2),
            "memory_bytes": s.memory_bytes,
            "tasks_running": len(s.tasks),
            "tasks_measured": len(s.measured),
            "resources": _resources(s.resources),
            "total_resources": _resources(s.total_resources),
            "tasks": [
                {
                    "id": t.id,
                    "name": t.name,
                    "node": t.node,
                    "cpu_percent": None if t.cpu_percent is None else round(t.cpu_percent, 2),
                    "memory_bytes": t.memory_bytes,
                    "memory_limit_bytes": t.memory_limit,
                    "error": t.error or None,
                }
                for t in s.tasks
            ],
        }
        for s in services
    ]
    return json.dumps(out, indent=indent) + "\n"
