"""The lint rules on security, state and keys Swarm ignores (SK301 to SK304, SK4xx, SK5xx).

Registered with their code, severity, title and fix in :data:`rules` (see
:mod:`swarmkit.stack.lint_registry`); the rules on images, updates and
references are in :mod:`swarmkit.stack.lint_rules`, those on isolation from
the node (capabilities, host namespaces, host paths, ignored hardening) in
:mod:`swarmkit.stack.lint_security`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from swarmkit.stack.lint_registry import Hit, RuleSet, Severity
from swarmkit.stack.lint_rules import database_kind
from swarmkit.stack.lint_security import exposes_docker_socket, reported_keys
from swarmkit.stack.model import Stack
from swarmkit.stack.service import Service

__all__ = ["DATABASE_PORTS", "IGNORED_KEYS", "rules"]

#: The rules of this module.
rules = RuleSet()

#: Container ports that only a database listens on, and what listens there.
DATABASE_PORTS: dict[int, str] = {
    1433: "SQL Server",
    3306: "MySQL/MariaDB",
    5432: "PostgreSQL",
    5984: "CouchDB",
    6379: "Redis",
    9042: "Cassandra",
    11211: "memcached",
    27017: "MongoDB",
}

_POSTGRES_FAMILY = frozenset({"postgres", "postgresql", "postgis", "timescaledb", "timescaledb-ha"})
_POSTGRES_CAPS = "CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID"

#: Service keys ``docker stack deploy`` ignores, with what to do instead.
IGNORED_KEYS: dict[str, str] = {
    "build": "build and push the image before deploying; keep build only for compose",
    "container_name": "remove it; Swarm names tasks STACK_SERVICE.SLOT",
    "depends_on": "remove it; Swarm starts services in any order, so retry connections",
    "restart": "use deploy.restart_policy instead",
    "links": "remove it; services on a shared network reach each other by name",
    "external_links": "remove it; attach both services to a shared overlay network",
    "network_mode": "use networks: with an overlay network instead",
    "privileged": "remove it; grant only the capabilities needed with cap_add",
    "security_opt": "remove it; Swarm services cannot set security options",
    "devices": "remove it; Swarm services cannot map devices",
    "cgroup_parent": "remove it; Swarm services cannot set it",
    "cgroupns_mode": "remove it; Swarm services cannot set it",
    "domainname": "remove it; Swarm services cannot set it",
    "ipc": "remove it; Swarm services cannot set it",
    "mac_address": "remove it; Swarm services cannot set it",
    "pid": "remove it; Swarm services cannot set it",
    "shm_size": "mount a tmpfs at /dev/shm instead",
    "userns_mode": "remove it; Swarm services cannot set it",
    "expose": "remove it; services on a shared network reach every port",
    "tmpfs": "use a volumes entry instead: {type: tmpfs, target: /tmp}",
}

_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY")
# Volumes whose data is reachable from every node, so a task may move freely.
_SHARED_VOLUME_TYPES = frozenset({"nfs", "nfs4", "cifs"})
# Only these constraints pick particular nodes; node.role or node.platform do not.
_PINNING = re.compile(r"^\s*(node\.id|node\.hostname|(node|engine)\.labels\.[^\s=!]+)\s*==")


@rules.service_rule(
    "SK301",
    Severity.WARNING,
    title="capabilities not dropped (no cap_drop: [ALL])",
    fix="add cap_drop: [ALL], then cap_add only what the process needs",
)
def capabilities_dropped(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """``cap_drop: [ALL]``; a database gets told which capabilities to add back."""
    if "ALL" in {cap.upper() for cap in service.cap_drop}:
        return
    loc = ("services", name, "cap_drop")
    kind = database_kind(service.image)
    if kind is None:
        yield Hit(loc, "keeps Docker's default capabilities (no cap_drop: [ALL])")
        return
    needs = _POSTGRES_CAPS if kind in _POSTGRES_FAMILY else "what its entrypoint needs"
    yield Hit(
        loc,
        f"database ({kind}) keeps Docker's default capabilities; a warning, since "
        "databases need a few at start",
        f"add cap_drop: [ALL] and cap_add only {needs}",
    )


@rules.service_rule(
    "SK302",
    Severity.ERROR,
    title="Docker socket bind-mounted",
    fix="remove the mount; if a tool needs the API, give it a filtering socket proxy",
)
def no_docker_socket(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """No mount hands the Docker API (root on the node) to the service."""
    for i, volume in enumerate(service.volumes):
        if exposes_docker_socket(volume.source):
            mounted = "the Docker socket" if volume.source.endswith(".sock") else "the socket's dir"
            yield Hit(
                ("services", name, "volumes", i),
                f"mounts {mounted} {volume.source}: root on the node, even read-only",
            )


@rules.service_rule(
    "SK303",
    Severity.ERROR,
    title="secret-looking environment variable with a plain value",
    fix="move the value to a Swarm secret and read it from /run/secrets/NAME",
)
def no_plain_secrets(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """A variable named like a secret holds no value; the value is never shown."""
    for variable, value in service.environment.items():
        upper = variable.upper()
        # NAME_FILE holds a path to a mounted secret, which is the remedy, not the problem.
        if value and not upper.endswith("_FILE") and any(w in upper for w in _SECRET_WORDS):
            yield Hit(
                ("services", name, "environment", variable),
                f"{variable} looks like a secret but holds a plain value, visible in "
                "docker service inspect",
                "move the value to a Swarm secret and read it from /run/secrets/NAME, "
                f"e.g. via {variable}_FILE",
            )


@rules.service_rule(
    "SK304",
    Severity.ERROR,
    title="database port published",
    fix="remove the ports entry; reach the database over an overlay network",
)
def database_not_published(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """A database port (or any port of a database image) is not published."""
    kind = database_kind(service.image)
    for i, port in enumerate(service.ports):
        what = DATABASE_PORTS.get(port.target) or kind
        if what is not None:
            where = "the node it runs on" if port.mode == "host" else "every node (routing mesh)"
            yield Hit(
                ("services", name, "ports", i), f"publishes {what} port {port.target} on {where}"
            )


@rules.service_rule(
    "SK401",
    Severity.WARNING,
    title="database restarts on any exit (condition any, or no policy)",
    fix="set deploy.restart_policy.condition: on-failure",
)
def database_restarts_on_failure(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """A deliberately stopped database stays stopped."""
    kind = database_kind(service.image)
    policy = service.deploy.restart_policy
    if kind is not None and (policy is None or policy.condition in ("", "any")):
        loc = ("services", name, "deploy", *(("restart_policy",) if policy else ()))
        how = (
            "restart_policy.condition is any"
            if policy
            else "no restart_policy (Swarm's default: any)"
        )
        yield Hit(loc, f"database ({kind}) has {how}: it restarts even after a clean shutdown")


@rules.service_rule(
    "SK402",
    Severity.WARNING,
    title="node-local named volume, but no constraint pins the node",
    fix="pin it: deploy.placement.constraints: [node.labels.LABEL == true]",
)
def local_data_is_pinned(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """A service keeping data in a node-local volume always runs on that node."""
    deploy = service.deploy
    if deploy.mode == "global":
        return  # one task per node: per-node data is what a global service asks for
    local = []
    for volume in service.volumes:
        if volume.type != "volume" or not volume.source:
            continue
        declared = stack.volumes.get(volume.source)
        shared = declared is not None and (
            declared.driver not in ("", "local")
            or declared.driver_opts.get("type", "") in _SHARED_VOLUME_TYPES
        )
        if not shared:
            local.append(volume.source)
    pinned = any(_PINNING.match(c) for c in deploy.placement.constraints)
    if local and not pinned:
        yield Hit(
            ("services", name, "deploy", "placement", "constraints"),
            f"keeps data in node-local volume {', '.join(local)} but is not pinned to a "
            "node; a rescheduled task starts with an empty volume",
        )


@rules.service_rule(
    "SK501",
    Severity.INFO,
    title="key that docker stack deploy ignores",
    fix="remove it, or keep it only for docker compose",
)
def no_ignored_keys(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """One hit per key of :data:`IGNORED_KEYS` set to a non-empty value, but for
    the keys a security rule reports already (saying that the key is ignored)."""
    covered = reported_keys(service)
    for key, fix in IGNORED_KEYS.items():
        if key in covered:
            continue
        value = getattr(service, key)
        if value.to_data() if key == "build" else value:
            yield Hit(("services", name, key), f"{key} is ignored by docker stack deploy", fix)
