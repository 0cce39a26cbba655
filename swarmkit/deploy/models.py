"""A typed view of the engine's service and task JSON, parsed once.

The docker SDK hands out the engine's JSON as dicts (``service.attrs``, the
items of ``service.tasks()``); every rule of this package reads them through
:class:`EngineService` and :class:`EngineTask`, so a field's name and its
default for a missing key are written in one place. Only the fields the rules
use are kept; ``raw`` keeps the rest for the odd reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STACK_LABEL",
    "Before",
    "EngineNode",
    "EngineService",
    "EngineTask",
    "UpdateStatus",
    "sortable_time",
]

#: The label ``docker stack deploy`` puts on every object of a stack.
STACK_LABEL = "com.docker.stack.namespace"

#: Task states before a task runs: it is on its way, not stopped.
STARTING_STATES = frozenset(
    {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
)


def sortable_time(timestamp: str) -> str:
    """An engine timestamp with nine decimals, so that string order is time order.

    The engine writes RFC 3339 with nanoseconds and trailing zeros trimmed:
    ``...:06.5Z`` would sort after ``...:06.51Z``. Anything else is returned as is.
    """
    if not timestamp.endswith("Z"):
        return timestamp
    whole, _, fraction = timestamp[:-1].partition(".")
    if fraction and not fraction.isdigit():
        return timestamp
    return f"{whole}.{fraction.ljust(9, '0')}Z"


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class UpdateStatus:
    """A service's ``UpdateStatus``; ``state`` is ``""`` when it has none.

    The engine clears it on every update (``docker stack deploy``) and sets
    ``updating`` once its updater starts; ``docker service rollback`` sets
    ``rollback_started`` at once. Times are :func:`sortable_time` strings.
    """

    state: str = ""
    started_at: str = ""
    completed_at: str = ""
    message: str = ""

    @classmethod
    def parse(cls, value: Any) -> UpdateStatus:
        data = _dict(value)
        return cls(
            state=str(data.get("State") or ""),
            started_at=sortable_time(str(data.get("StartedAt") or "")),
            completed_at=sortable_time(str(data.get("CompletedAt") or "")),
            message=str(data.get("Message") or ""),
        )

    @property
    def is_rollback(self) -> bool:
        """A rollback (automatic or requested) started, paused or completed."""
        return self.state.startswith("rollback")


@dataclass(frozen=True)
class EngineService:
    """One ``docker service inspect`` object."""

    id: str
    name: str
    version: int
    labels: dict[str, str]
    update: UpdateStatus
    #: ``TaskTemplate`` of the spec and of the previous spec (``None``: none kept).
    task_template: dict[str, Any]
    previous_task_template: dict[str, Any] | None
    #: ``None`` for a global service.
    replicas: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, attrs: Mapping[str, Any]) -> EngineService:
        spec = _dict(attrs.get("Spec"))
        previous = attrs.get("PreviousSpec")
        mode = _dict(spec.get("Mode"))
        replicas: int | None = None
        if "Replicated" in mode:
            replicas = int(_dict(mode["Replicated"]).get("Replicas", 1))
        return cls(
            id=str(attrs.get("ID", "")),
            name=str(spec.get("Name", "")),
            version=int(_dict(attrs.get("Version")).get("Index", 0)),
            labels={str(k): str(v) for k, v in _dict(spec.get("Labels")).items()},
            update=UpdateStatus.parse(attrs.get("UpdateStatus")),
            task_template=_dict(spec.get("TaskTemplate")),
            previous_task_template=(
                _dict(_dict(previous).get("TaskTemplate")) if previous else None
            ),
            replicas=replicas,
            raw=dict(attrs),
        )

    @property
    def stack(self) -> str:
        return self.labels.get(STACK_LABEL, "")

    @property
    def short_name(self) -> str:
        """The name without the stack's prefix (``app`` for ``shop_app``)."""
        return self.name.removeprefix(f"{self.stack}_") if self.stack else self.name

    @property
    def mode(self) -> str:
        return "global" if self.replicas is None else "replicated"

    @property
    def image(self) -> str:
        """The task template's image without its digest."""
        return str(_dict(self.task_template.get("ContainerSpec")).get("Image", "")).split("@")[0]

    @property
    def template_key(self) -> tuple[Any, Any]:
        """What a task built from the current spec has: its container spec and force count."""
        return (self.task_template.get("ContainerSpec"), self.task_template.get("ForceUpdate", 0))

    @property
    def rollback_changes_tasks(self) -> bool:
        """A previous spec is kept and going back to it would replace the tasks."""
        return (
            self.previous_task_template is not None
            and self.previous_task_template != self.task_template
        )

    def update_since(self, before: Before | None) -> str:
        """The update state if it is new since ``before`` (another update's), else ``""``.

        A ``rollback_completed`` an earlier deploy left behind stays in the
        service; only a new start time (or state) makes it this deploy's.
        """
        if before is not None and (self.update.state, self.update.started_at) == (
            before.update_state,
            before.update_started,
        ):
            return ""
        return self.update.state


@dataclass(frozen=True)
class Before:
    """A service as it was before the deploy."""

    version: int
    update_state: str
    update_started: str

    @classmethod
    def of(cls, service: EngineService) -> Before:
        return cls(service.version, service.update.state, service.update.started_at)


@dataclass(frozen=True)
class EngineTask:
    """One task of ``docker service ps`` (the engine's ``/tasks`` JSON)."""

    id: str
    #: ``None`` for a global service's task (it has a node instead).
    slot: int | None
    node_id: str
    desired_state: str
    state: str
    error: str
    exit_code: int | None
    container_id: str
    created_at: str
    updated_at: str
    #: The ``TaskTemplate`` it was made from.
    template_key: tuple[Any, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> EngineTask:
        status = _dict(data.get("Status"))
        container = _dict(status.get("ContainerStatus"))
        spec = _dict(data.get("Spec"))
        code = container.get("ExitCode")
        slot = data.get("Slot")
        return cls(
            id=str(data.get("ID", "")),
            slot=int(slot) if slot else None,
            node_id=str(data.get("NodeID") or ""),
            desired_state=str(data.get("DesiredState") or ""),
            state=str(status.get("State") or ""),
            error=str(status.get("Err") or status.get("Message") or ""),
            exit_code=int(code) if code is not None else None,
            container_id=str(container.get("ContainerID") or ""),
            created_at=sortable_time(str(data.get("CreatedAt") or "")),
            updated_at=sortable_time(str(data.get("UpdatedAt") or "")),
            template_key=(spec.get("ContainerSpec"), spec.get("ForceUpdate", 0)),
            raw=dict(data),
        )

    @property
    def label(self) -> str:
        """``<slot>`` or, for a global service, the node id's first 12 characters."""
        return str(self.slot) if self.slot else self.node_id[:12]

    @property
    def is_running(self) -> bool:
        return self.state == "running"

    @property
    def has_stopped(self) -> bool:
        return self.state not in STARTING_STATES and self.state != "running"

    def built_from(self, service: EngineService) -> bool:
        """Made from the service's current spec (not a previous one)."""
        return self.template_key == service.template_key


@dataclass(frozen=True)
class EngineNode:
    """One node of ``docker node ls`` (the engine's ``/nodes`` JSON)."""

    id: str
    #: ``Description.Hostname``: what ``swarmkit status`` shows; ``""`` if unknown.
    hostname: str
    #: ``manager`` or ``worker``.
    role: str
    #: ``active``, ``pause`` or ``drain``.
    availability: str
    #: ``ready``, ``down``, ``disconnected`` or ``unknown``.
    state: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> EngineNode:
        spec = _dict(data.get("Spec"))
        return cls(
            id=str(data.get("ID") or ""),
            hostname=str(_dict(data.get("Description")).get("Hostname") or ""),
            role=str(spec.get("Role") or ""),
            availability=str(spec.get("Availability") or ""),
            state=str(_dict(data.get("Status")).get("State") or ""),
            raw=dict(data),
        )
