"""The ``deploy`` key of a service: scheduling, updates, rollbacks, restarts, resources."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from swarmkit.stack.base import StackModel
from swarmkit.stack.types import Count, Duration, Labels, Number, UnitBytes, UnsignedCount

__all__ = [
    "DeployConfig",
    "DiscreteResource",
    "GenericResource",
    "Placement",
    "PlacementPreference",
    "ResourceLimits",
    "ResourceReservations",
    "Resources",
    "RestartPolicy",
    "UpdateConfig",
]


class UpdateConfig(StackModel):
    """``deploy.update_config`` and ``deploy.rollback_config``."""

    parallelism: UnsignedCount | None = None
    delay: Duration = "0s"
    failure_action: str = ""
    monitor: Duration = "0s"
    max_failure_ratio: float = 0.0
    order: str = ""

    @field_validator("order")
    @classmethod
    def _order(cls, value: str) -> str:
        if value not in ("", "start-first", "stop-first"):
            raise ValueError("order must be one of: start-first, stop-first")
        return value


class ResourceLimits(StackModel):
    """``deploy.resources.limits``."""

    _as_string: ClassVar[frozenset[str]] = frozenset({"memory"})

    cpus: str = ""
    memory: UnitBytes = 0
    pids: Count = 0


class DiscreteResource(StackModel):
    """A discrete generic resource (``kind`` and ``value``)."""

    kind: str = ""
    value: Number = 0

    def to_data(self) -> dict[str, Any]:
        # The CLI's Go type has no omitempty here: both keys always print.
        return {"kind": self.kind, "value": self.value}


class GenericResource(StackModel):
    """One entry of ``deploy.resources.reservations.generic_resources``."""

    discrete_resource_spec: DiscreteResource | None = None


class ResourceReservations(StackModel):
    """``deploy.resources.reservations``."""

    _as_string: ClassVar[frozenset[str]] = frozenset({"memory"})

    cpus: str = ""
    memory: UnitBytes = 0
    generic_resources: list[GenericResource] = Field(default_factory=list)


class Resources(StackModel):
    """``deploy.resources``."""

    limits: ResourceLimits | None = None
    reservations: ResourceReservations | None = None


class RestartPolicy(StackModel):
    """``deploy.restart_policy``."""

    condition: str = ""
    delay: Duration | None = None
    max_attempts: UnsignedCount | None = None
    window: Duration | None = None


class PlacementPreference(StackModel):
    """One ``deploy.placement.preferences`` entry."""

    spread: str = ""


class Placement(StackModel):
    """``deploy.placement``."""

    constraints: list[str] = Field(default_factory=list)
    preferences: list[PlacementPreference] = Field(default_factory=list)
    max_replicas_per_node: UnsignedCount = 0


class DeployConfig(StackModel):
    """``deploy``: how Swarm schedules, updates and restarts the service."""

    mode: str = ""
    replicas: UnsignedCount | None = None
    labels: Labels = Field(default_factory=dict)
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    resources: Resources = Field(default_factory=Resources)
    restart_policy: RestartPolicy | None = None
    placement: Placement = Field(default_factory=Placement)
    endpoint_mode: str = ""

    @model_validator(mode="before")
    @classmethod
    def _null(cls, data: Any) -> Any:
        return {} if data is None else data
