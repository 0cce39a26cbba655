"""Stack files as Pydantic models: load, interpolate, merge, lint and render.

``from swarmkit.stack import Stack, Service, load_stack`` is all most users need::

    stack = load_stack("deploy/stack.yml", "deploy/stack.production.yml")
    stack.services["app"].deploy.replicas = 3
    Path("stack.yml").write_text(stack.to_yaml())
"""

from __future__ import annotations

from swarmkit.stack.deployment import (
    DeployConfig,
    DiscreteResource,
    GenericResource,
    Placement,
    PlacementPreference,
    ResourceLimits,
    ResourceReservations,
    Resources,
    RestartPolicy,
    UpdateConfig,
)
from swarmkit.stack.lint import (
    LintFinding,
    Severity,
    format_gitlab,
    format_json,
    format_text,
    has_errors,
    lint_stack,
)
from swarmkit.stack.load import build_environ, load_stack, load_stack_file
from swarmkit.stack.merge import merge_stacks
from swarmkit.stack.model import (
    AccessMode,
    BlockVolume,
    CapacityRange,
    ClusterVolumeSpec,
    Config,
    IpamConfig,
    IpamPool,
    MountVolume,
    Network,
    Secret,
    Stack,
    Topology,
    TopologyRequirement,
    Volume,
    VolumeSecret,
)
from swarmkit.stack.render import hash_names, render_stack
from swarmkit.stack.service import (
    BuildConfig,
    ConfigRef,
    CredentialSpec,
    Healthcheck,
    LoggingConfig,
    PortConfig,
    SecretRef,
    Service,
    ServiceNetwork,
    ServiceVolume,
    Ulimit,
    VolumeBindOptions,
    VolumeOptions,
    VolumeTmpfsOptions,
)

__all__ = [
    "AccessMode",
    "BlockVolume",
    "BuildConfig",
    "CapacityRange",
    "ClusterVolumeSpec",
    "Config",
    "ConfigRef",
    "CredentialSpec",
    "DeployConfig",
    "DiscreteResource",
    "GenericResource",
    "Healthcheck",
    "IpamConfig",
    "IpamPool",
    "LintFinding",
    "LoggingConfig",
    "MountVolume",
    "Network",
    "Placement",
    "PlacementPreference",
    "PortConfig",
    "ResourceLimits",
    "ResourceReservations",
    "Resources",
    "RestartPolicy",
    "Secret",
    "SecretRef",
    "Service",
    "ServiceNetwork",
    "ServiceVolume",
    "Severity",
    "Stack",
    "Topology",
    "TopologyRequirement",
    "Ulimit",
    "UpdateConfig",
    "Volume",
    "VolumeBindOptions",
    "VolumeOptions",
    "VolumeSecret",
    "VolumeTmpfsOptions",
    "build_environ",
    "format_gitlab",
    "format_json",
    "format_text",
    "has_errors",
    "hash_names",
    "lint_stack",
    "load_stack",
    "load_stack_file",
    "merge_stacks",
    "render_stack",
]
