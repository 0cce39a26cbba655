"""The model of one service of a stack, key for key as Compose file format 3.13 has it."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from swarmkit.stack.base import ExtensibleModel, OpenModel, StackModel
from swarmkit.stack.deployment import DeployConfig
from swarmkit.stack.syntax import parse_port_spec, parse_volume_spec
from swarmkit.stack.types import (
    Count,
    Duration,
    FileMode,
    HostsList,
    Labels,
    MappingWithEquals,
    PortNumber,
    ShellCommand,
    StringList,
    StringMapping,
    StringOrNumberList,
    UnsignedNumber,
    checked,
)

__all__ = [
    "BuildConfig",
    "ConfigRef",
    "CredentialSpec",
    "Healthcheck",
    "LoggingConfig",
    "PortConfig",
    "SecretRef",
    "Service",
    "ServiceNetwork",
    "ServiceVolume",
    "Ulimit",
    "VolumeBindOptions",
    "VolumeOptions",
    "VolumeTmpfsOptions",
]


class BuildConfig(OpenModel):
    """``build`` (ignored by ``docker stack deploy``; kept for compose)."""

    _go_names: ClassVar[dict[str, str]] = {
        "context": "Context",
        "dockerfile": "Dockerfile",
        "args": "Args",
        "labels": "Labels",
        "network": "Network",
        "target": "Target",
    }

    context: str = ""
    dockerfile: str = ""
    args: MappingWithEquals = Field(default_factory=dict)
    labels: Labels = Field(default_factory=dict)
    cache_from: StringList = Field(default_factory=list)
    extra_hosts: HostsList = Field(default_factory=list)
    network: str = ""
    target: str = ""

    # The schema lets build take any key (compose has more); the CLI reads these.
    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"context": data} if isinstance(data, str) else data


class CredentialSpec(StackModel):
    """``credential_spec`` (Windows services)."""

    config: str = ""
    file: str = ""
    registry: str = ""


class Healthcheck(StackModel):
    """``healthcheck``: the test Swarm runs to decide a task is healthy."""

    test: list[str] = Field(default_factory=list)
    timeout: Duration | None = None
    interval: Duration | None = None
    retries: UnsignedNumber | None = None
    start_period: Duration | None = None
    start_interval: Duration | None = None
    disable: bool = False

    @field_validator("test", mode="before")
    @classmethod
    def _shell_form(cls, value: Any) -> Any:
        return ["CMD-SHELL", value] if isinstance(value, str) else value


class LoggingConfig(StackModel):
    """``logging``: the log driver and its options."""

    driver: str = ""
    options: StringMapping = Field(default_factory=dict)


class ServiceNetwork(StackModel):
    """A service's attachment to one network."""

    aliases: list[str] = Field(default_factory=list)
    driver_opts: StringMapping = Field(default_factory=dict)
    ipv4_address: str = ""
    ipv6_address: str = ""


class PortConfig(StackModel):
    """A published port, in long form (short forms are expanded on load)."""

    mode: str = ""
    target: PortNumber = 0
    published: PortNumber = 0
    protocol: str = ""


class VolumeBindOptions(OpenModel):
    """``bind`` options of a bind mount (unknown keys are ignored, as the CLI does)."""

    _go_names: ClassVar[dict[str, str]] = {"propagation": "Propagation"}

    propagation: str = ""


class VolumeOptions(OpenModel):
    """``volume`` options of a volume mount (unknown keys are ignored)."""

    nocopy: bool = False
    subpath: str = ""


class VolumeTmpfsOptions(OpenModel):
    """``tmpfs`` options of a tmpfs mount (keys other than ``size`` are ignored)."""

    _go_names: ClassVar[dict[str, str]] = {"size": "Size"}

    size: Count = Field(default=0, ge=0)


class ServiceVolume(StackModel):
    """A mount, in long form (``src:dst:ro`` is expanded on load)."""

    type: str = ""
    source: str = ""
    target: str = ""
    read_only: bool = False
    consistency: str = ""
    bind: VolumeBindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: VolumeTmpfsOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, str):
            return checked(parse_volume_spec)(data)
        if isinstance(data, dict) and "type" not in data:
            raise ValueError("a mount in long form needs a type (volume, bind or tmpfs)")
        return data


class _FileReference(OpenModel):
    # The schema leaves these objects open: the CLI ignores unknown keys.
    _go_names: ClassVar[dict[str, str]] = {
        "source": "Source",
        "target": "Target",
        "uid": "UID",
        "gid": "GID",
        "mode": "Mode",
    }

    source: str = ""
    target: str = ""
    uid: str = ""
    gid: str = ""
    mode: FileMode | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"source": data} if isinstance(data, str) else data


class SecretRef(_FileReference):
    """A service's use of a secret (``- name`` or the long form)."""


class ConfigRef(_FileReference):
    """A service's use of a config (``- name`` or the long form)."""


class Ulimit(StackModel):
    """One ulimit: a single value, or soft and hard."""

    single: Count = 0
    soft: Count = 0
    hard: Count = 0

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            return {"single": data}
        if isinstance(data, dict) and ("single" in data or not {"soft", "hard"} <= set(data)):
            raise ValueError("a ulimit is a number, or a mapping with both soft and hard")
        return data

    def to_data(self) -> Any:
        if self.single:
            return self.single
        # The CLI prints a zero soft/hard pair as {}, which it then refuses to
        # load; both keys are always written here so the output stays loadable.
        return {"soft": self.soft, "hard": self.hard}


def _expand_ports(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    ports: list[Any] = []
    for entry in value:
        if isinstance(entry, bool):
            ports.append(entry)
        elif isinstance(entry, int | str):
            ports.extend(checked(parse_port_spec)(str(entry)))
        else:
            ports.append(entry)
    return ports


def _network_list(value: Any) -> Any:
    # Only a list of names becomes a mapping; anything else goes to validation.
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return dict.fromkeys(value)
    return value


class Service(ExtensibleModel):
    """One service of a stack. Fields follow the CLI's order and names.

    Keys that ``docker stack deploy`` ignores (``build``, ``restart``,
    ``container_name``, ``depends_on``...) load too, since the same files serve
    compose; ``swarmkit lint`` reports them. ``oom_score_adj`` (format 3.13)
    is accepted and dropped on load, as the docker CLI drops it.
    """

    build: BuildConfig = Field(default_factory=BuildConfig)
    cap_add: list[str] = Field(default_factory=list)
    cap_drop: list[str] = Field(default_factory=list)
    cgroupns_mode: str = ""
    cgroup_parent: str = ""
    command: ShellCommand = Field(default_factory=list)
    configs: list[ConfigRef] = Field(default_factory=list)
    container_name: str = ""
    credential_spec: CredentialSpec = Field(default_factory=CredentialSpec)
    depends_on: list[str] = Field(default_factory=list)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    devices: list[str] = Field(default_factory=list)
    dns: StringList = Field(default_factory=list)
    dns_search: StringList = Field(default_factory=list)
    domainname: str = ""
    entrypoint: ShellCommand = Field(default_factory=list)
    environment: MappingWithEquals = Field(default_factory=dict)
    env_file: StringList = Field(default_factory=list)
    expose: StringOrNumberList = Field(default_factory=list)
    external_links: list[str] = Field(default_factory=list)
    extra_hosts: HostsList = Field(default_factory=list)
    hostname: str = ""
    healthcheck: Healthcheck | None = None
    image: str = ""
    init: bool | None = None
    ipc: str = ""
    isolation: str = ""
    labels: Labels = Field(default_factory=dict)
    links: list[str] = Field(default_factory=list)
    logging: LoggingConfig | None = None
    mac_address: str = ""
    network_mode: str = ""
    networks: dict[str, ServiceNetwork | None] = Field(default_factory=dict)
    pid: str = ""
    ports: list[PortConfig] = Field(default_factory=list)
    privileged: bool = False
    read_only: bool = False
    restart: str = ""
    secrets: list[SecretRef] = Field(default_factory=list)
    security_opt: list[str] = Field(default_factory=list)
    shm_size: str = ""
    stdin_open: bool = False
    stop_grace_period: Duration | None = None
    stop_signal: str = ""
    sysctls: Labels = Field(default_factory=dict)
    tmpfs: StringList = Field(default_factory=list)
    tty: bool = False
    ulimits: dict[str, Ulimit | None] = Field(default_factory=dict)
    user: str = ""
    userns_mode: str = ""
    volumes: list[ServiceVolume] = Field(default_factory=list)
    working_dir: str = ""

    @field_validator("ports", mode="before")
    @classmethod
    def _ports(cls, value: Any) -> Any:
        return _expand_ports(value)

    @field_validator("ports")
    @classmethod
    def _distinct_ports(cls, value: list[PortConfig]) -> list[PortConfig]:
        # "80:80" and its long form are one port. The CLI keeps both and then
        # refuses its own output (ports must be unique); we keep the first.
        # A set of field tuples, not `port in list` (pydantic __eq__ per
        # pair): a 65,536-port range would otherwise take hours.
        seen: set[tuple[str, int, int, str]] = set()
        distinct: list[PortConfig] = []
        for port in value:
            key = (port.mode, port.target, port.published, port.protocol)
            if key not in seen:
                seen.add(key)
                distinct.append(port)
        return distinct

    @field_validator("networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        return _network_list(value)

    @field_validator("pid", mode="before")
    @classmethod
    def _null_pid(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("deploy", "build", "credential_spec", mode="before")
    @classmethod
    def _null_struct(cls, value: Any) -> Any:
        return {} if value is None else value
