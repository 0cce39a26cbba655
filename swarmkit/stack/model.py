"""The model of a whole stack file: services plus top-level networks, volumes,
secrets and configs, and its rendering back to YAML."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, PrivateAttr, field_validator, model_validator

from swarmkit.stack.base import ExtensibleModel, OpenModel, StackModel
from swarmkit.stack.output import render_data
from swarmkit.stack.schema import canonical_version
from swarmkit.stack.service import Service
from swarmkit.stack.sources import SourceMap
from swarmkit.stack.types import Labels, StringMapping, UnitBytes

__all__ = [
    "AccessMode",
    "BlockVolume",
    "CapacityRange",
    "ClusterVolumeSpec",
    "Config",
    "IpamConfig",
    "IpamPool",
    "MountVolume",
    "Network",
    "Secret",
    "Stack",
    "Topology",
    "TopologyRequirement",
    "Volume",
    "VolumeSecret",
]


def _external_name(data: Any, kind: str) -> Any:
    """``external: {name: x}`` is the old spelling of ``external: true`` + ``name: x``."""
    if not isinstance(data, dict) or not isinstance(data.get("external"), dict):
        return data
    data = dict(data)
    # Other keys of the mapping are ignored, as the CLI ignores them.
    name = data["external"].get("name")
    data["external"] = True
    if name is not None:
        if not isinstance(name, str):
            raise ValueError(f"external.name must be a string, got {name!r}")
        if data.get("name"):
            raise ValueError(f"{kind}.external.name and {kind}.name conflict; only use {kind}.name")
        data["name"] = name
    return data


class IpamPool(StackModel):
    """One ``ipam.config`` entry."""

    subnet: str = ""


class IpamConfig(StackModel):
    """A network's ``ipam`` settings."""

    driver: str = ""
    config: list[IpamPool] = Field(default_factory=list)


class Network(ExtensibleModel):
    """A top-level network. Swarm services need ``driver: overlay``."""

    name: str = ""
    driver: str = ""
    driver_opts: StringMapping = Field(default_factory=dict)
    ipam: IpamConfig = Field(default_factory=IpamConfig)
    external: bool = False
    internal: bool = False
    attachable: bool = False
    labels: Labels = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _external(cls, data: Any) -> Any:
        return _external_name(data, "network")


class _OpenObject(OpenModel):
    """A cluster-volume object: open in the schema, decoded like mapstructure does."""


class MountVolume(_OpenObject):
    """``access_mode.mount_volume``: the cluster volume is mounted as a file system."""

    fs_type: str = ""
    mount_flags: list[str] = Field(default_factory=list)


class BlockVolume(_OpenObject):
    """``access_mode.block_volume``: the cluster volume is a block device (no options)."""


class AccessMode(_OpenObject):
    """How the tasks of a cluster volume reach it."""

    _go_names: ClassVar[dict[str, str]] = {"scope": "Scope", "sharing": "Sharing"}

    scope: str = ""
    sharing: str = ""
    mount_volume: MountVolume | None = None
    block_volume: BlockVolume | None = None


class Topology(_OpenObject):
    """One topology group (``segments: {region: r1}``)."""

    _go_names: ClassVar[dict[str, str]] = {"segments": "Segments"}

    segments: Labels = Field(default_factory=dict)


class TopologyRequirement(_OpenObject):
    """Where a cluster volume may (``requisite``) and should (``preferred``) be placed."""

    _go_names: ClassVar[dict[str, str]] = {"requisite": "Requisite", "preferred": "Preferred"}

    requisite: list[Topology] = Field(default_factory=list)
    preferred: list[Topology] = Field(default_factory=list)


def _size_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"must be a string such as '1G', got {value!r}")
    return value


class CapacityRange(_OpenObject):
    """The smallest and largest size of a cluster volume."""

    _as_string: ClassVar[frozenset[str]] = frozenset({"required_bytes", "limit_bytes"})

    required_bytes: UnitBytes = 0
    limit_bytes: UnitBytes = 0

    _strings = field_validator("required_bytes", "limit_bytes", mode="before")(_size_string)


class VolumeSecret(_OpenObject):
    """A secret handed to the CSI plugin (``key`` and the swarm ``secret``)."""

    _go_names: ClassVar[dict[str, str]] = {"key": "Key", "secret": "Secret"}

    key: str = ""
    secret: str = ""


class ClusterVolumeSpec(_OpenObject):
    """A volume's ``x-cluster-spec``: a cluster (CSI) volume, which the CLI keeps."""

    _go_names: ClassVar[dict[str, str]] = {
        "group": "Group",
        "secrets": "Secrets",
        "availability": "Availability",
    }

    group: str = ""
    access_mode: AccessMode | None = None
    accessibility_requirements: TopologyRequirement | None = None
    capacity_range: CapacityRange | None = None
    secrets: list[VolumeSecret] = Field(default_factory=list)
    availability: str = ""


class Volume(ExtensibleModel):
    """A top-level named volume."""

    name: str = ""
    driver: str = ""
    driver_opts: StringMapping = Field(default_factory=dict)
    external: bool = False
    labels: Labels = Field(default_factory=dict)
    cluster_spec: ClusterVolumeSpec | None = Field(default=None, alias="x-cluster-spec")
    """``x-cluster-spec``: kept for every volume, external or not, like the CLI."""

    @model_validator(mode="before")
    @classmethod
    def _external(cls, data: Any) -> Any:
        return _external_name(data, "volume")

    @model_validator(mode="after")
    def _external_conflicts(self) -> Volume:
        if self.external:
            for key in ("driver", "driver_opts", "labels"):
                if getattr(self, key):
                    raise ValueError(f'conflicting parameters "external" and "{key}"')
            if self.cluster_spec is not None:
                # The CLI cannot print it (its YAML encoder panics on the key).
                raise ValueError('conflicting parameters "external" and "x-cluster-spec"')
        return self


class Secret(ExtensibleModel):
    """A top-level secret: ``external`` (created beforehand), from a ``file``,
    or from a secret ``driver``."""

    name: str = ""
    file: str = ""
    external: bool = False
    labels: Labels = Field(default_factory=dict)
    driver: str = ""
    driver_opts: StringMapping = Field(default_factory=dict)
    template_driver: str = ""

    @model_validator(mode="before")
    @classmethod
    def _external(cls, data: Any) -> Any:
        return _external_name(data, "secret")

    @model_validator(mode="after")
    def _driver_conflict(self) -> Secret:
        if not self.external and self.driver and self.file:
            raise ValueError("secret.driver and secret.file conflict; only use secret.driver")
        return self


class Config(ExtensibleModel):
    """A top-level config: ``external`` (created beforehand) or from a ``file``."""

    name: str = ""
    file: str = ""
    external: bool = False
    labels: Labels = Field(default_factory=dict)
    template_driver: str = ""

    @model_validator(mode="before")
    @classmethod
    def _external(cls, data: Any) -> Any:
        return _external_name(data, "config")


def _null_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    return value


class Stack(ExtensibleModel):
    """A stack file. Build one in Python, or get one from :func:`load_stack`.

    ``Stack(...).to_yaml()`` renders it as ``docker stack config`` would print it.
    A loaded stack also knows where each key was written (:attr:`sources`).
    """

    version: str = "3.8"
    services: dict[str, Service] = Field(default_factory=dict)
    networks: dict[str, Network] = Field(default_factory=dict)
    volumes: dict[str, Volume] = Field(default_factory=dict)
    secrets: dict[str, Secret] = Field(default_factory=dict)
    configs: dict[str, Config] = Field(default_factory=dict)

    # A private attribute, not a field: no file can set it (or reach it as a key).
    _sources: SourceMap | None = PrivateAttr(default=None)

    @property
    def sources(self) -> SourceMap | None:
        """Where each key path was written, for a stack from :func:`load_stack`.

        ``None`` for a stack built in Python or validated from data.
        """
        return self._sources

    @sources.setter
    def sources(self, value: SourceMap | None) -> None:
        if value is not None and not isinstance(value, SourceMap):
            raise TypeError(f"sources must be a SourceMap, not {type(value).__name__}")
        self._sources = value

    def __eq__(self, other: object) -> bool:
        # Where a stack was written is not part of its value: a loaded stack
        # equals the same stack built in Python.
        if not isinstance(other, Stack):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.extensions == other.extensions
            and all(getattr(self, n) == getattr(other, n) for n in type(self).model_fields)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as every model

    @field_validator("networks", "volumes", "secrets", "configs", "services", mode="before")
    @classmethod
    def _null_entries(cls, value: Any) -> Any:
        return _null_values(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        version = canonical_version(value)
        if version is None:
            raise ValueError(f"unsupported Compose file version {value!r}; use 3.0 to 3.13")
        return version

    def to_data(self) -> dict[str, Any]:
        """Plain data in the shape ``docker stack config`` prints."""
        data = super().to_data()
        data.pop("version", None)
        data.pop("services", None)
        data = {
            "version": self.version,
            "services": {name: s.to_data() for name, s in sorted(self.services.items())},
            **data,
        }
        return data

    def to_yaml(self) -> str:
        """Render as YAML: same model, same bytes; readable by ``docker stack deploy``."""
        return render_data(self.to_data())
