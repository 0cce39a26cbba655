"""The checks behind :func:`swarmkit.stack.lint.lint_stack`.

Each check looks at the stack or at one service and yields :class:`Hit`\\ s:
a rule code, the dotted key path and a one-line message (and, when the rule's
generic fix is not precise enough, a specific one). :mod:`swarmkit.stack.lint`
owns the rule table, severities, silencing and output; keeping the checks here
lets them stay plain functions over the models, with no import cycle.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import NamedTuple

from swarmkit.stack.model import Stack
from swarmkit.stack.service import Service

__all__ = [
    "DATABASE_IMAGES",
    "DATABASE_PORTS",
    "IGNORED_KEYS",
    "Hit",
    "check_service",
    "check_stack",
    "database_kind",
    "split_image",
]


class Hit(NamedTuple):
    """One rule firing: ``fix`` is ``None`` when the rule's own fix applies."""

    code: str
    key_path: str
    message: str
    fix: str | None = None


#: Last path component (or whole path) of images that are databases.
DATABASE_IMAGES: frozenset[str] = frozenset(
    {
        "postgres",
        "postgresql",
        "postgis",
        "timescaledb",
        "timescaledb-ha",
        "mysql",
        "mysql-server",
        "mariadb",
        "percona-server",
        "mongo",
        "mongodb",
        "mongodb-community-server",
        "redis",
        "redis-stack-server",
        "valkey",
        "keydb",
        "memcached",
        "elasticsearch",
        "opensearch",
        "couchdb",
        "couchbase",
        "cassandra",
        "scylla",
        "mssql/server",
        "influxdb",
        "neo4j",
        "clickhouse-server",
        "cockroach",
        "rethinkdb",
    }
)

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
_DOCKER_SOCKETS = frozenset({"/var/run/docker.sock", "/run/docker.sock"})
# Volumes whose data is reachable from every node, so a task may move freely.
_SHARED_VOLUME_TYPES = frozenset({"nfs", "nfs4", "cifs"})
# Only these constraints pick particular nodes; node.role or node.platform do not.
_PINNING = re.compile(r"^\s*(node\.id|node\.hostname|(node|engine)\.labels\.[^\s=!]+)\s*==")


def split_image(image: str) -> tuple[str, str, str]:
    """``registry:5000/team/app:1.2@sha256:..`` -> ``("team/app", "1.2", "sha256:..")``.

    The registry host (a first component with a ``.`` or ``:``, or
    ``localhost``) and Docker Hub's ``library/`` are dropped from the path.
    """
    name, _, digest = image.partition("@")
    tag = ""
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
    parts = name.lower().split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts), tag, digest


def database_kind(image: str) -> str | None:
    """The database an image runs (``"postgres"``), or ``None`` if it is not one."""
    path = split_image(image)[0]
    for candidate in (path, path.rsplit("/", 1)[-1]):
        if candidate in DATABASE_IMAGES:
            return candidate
    return None


def _exposes_docker_socket(source: str) -> bool:
    # Mounting a parent directory (/var/run, /) hands over the socket just the same.
    if not source.startswith("/"):
        return False
    path = posixpath.normpath("/" + source.lstrip("/"))
    parent = path.rstrip("/") + "/"
    return any(sock == path or sock.startswith(parent) for sock in _DOCKER_SOCKETS)


def _has_healthcheck(service: Service) -> bool:
    check = service.healthcheck
    if check is None or check.disable or check.test[:1] == ["NONE"]:
        return False
    # An empty ``healthcheck: {}`` neither adds a test nor tunes the image's.
    return bool(check.to_data())


def _image(p: str, service: Service) -> Iterator[Hit]:
    image = service.image
    if not image:
        yield Hit(
            "SK101",
            f"{p}.image",
            "no image: docker stack deploy cannot create the service",
            "set image: to a registry path with a pinned tag or digest",
        )
        return
    repository, tag, digest = split_image(image)
    if not repository or repository.endswith("/") or image != image.strip():
        yield Hit(
            "SK101",
            f"{p}.image",
            f"image {image!r} has no repository name (an unset variable?); docker stack deploy"
            " refuses it",
            "set the variables the image is built from, e.g. IMAGE and TAG",
        )
        return
    if digest:
        return
    if not tag:
        yield Hit(
            "SK101",
            f"{p}.image",
            f"image {image} has no tag, so each deploy runs whatever 'latest' is then",
        )
    elif tag == "latest":
        yield Hit(
            "SK101",
            f"{p}.image",
            f"image {image} uses the moving tag 'latest'; rollbacks have no version to return to",
        )


def _updates(p: str, service: Service, kind: str | None) -> Iterator[Hit]:
    deploy = service.deploy
    for key in ("update_config", "rollback_config"):
        config = getattr(deploy, key)
        if config is not None and config.order == "start-first" and not _has_healthcheck(service):
            why = "the healthcheck disabled" if service.healthcheck else "no healthcheck"
            yield Hit(
                "SK102",
                f"{p}.deploy.{key}.order",
                f"order start-first with {why}: Swarm stops the old task as soon as "
                "the new one starts, before it can serve",
            )
    if deploy.mode not in ("", "replicated", "global"):
        return  # jobs run to completion; they have no rolling update to protect
    update = deploy.update_config
    if update is None:
        yield Hit(
            "SK103",
            f"{p}.deploy",
            "no deploy.update_config: a failed update pauses half-done instead of rolling back",
        )
    elif update.failure_action != "rollback":
        action = update.failure_action or "pause"
        yield Hit(
            "SK103",
            f"{p}.deploy.update_config.failure_action",
            f"failure_action is {action}: a failed update is not rolled back",
        )
    replicas = 1 if deploy.replicas is None else deploy.replicas
    order = update.order if update is not None else ""
    if (
        deploy.mode in ("", "replicated")
        and replicas == 1
        and order != "start-first"
        and kind is None
    ):
        path = f"{p}.deploy.update_config.order" if update is not None else f"{p}.deploy"
        yield Hit(
            "SK104",
            path,
            f"one replica updated {order or 'stop-first (the default)'}: "
            "the service is down during every update",
        )


def _references(p: str, stack: Stack, service: Service) -> Iterator[Hit]:
    for i, secret in enumerate(service.secrets):
        if secret.source not in stack.secrets:
            yield Hit(
                "SK201",
                f"{p}.secrets[{i}]",
                f"secret {secret.source} is not defined under top-level secrets",
                f"declare it: secrets: {{{secret.source}: {{external: true}}}} or a file",
            )
    for i, config in enumerate(service.configs):
        if config.source not in stack.configs:
            yield Hit(
                "SK201",
                f"{p}.configs[{i}]",
                f"config {config.source} is not defined under top-level configs",
                f"declare it: configs: {{{config.source}: {{file: ...}}}} or external",
            )
    for name in service.networks:
        # "default" is the stack's implicit network; the CLI accepts it undeclared.
        if name not in stack.networks and name != "default":
            yield Hit(
                "SK201",
                f"{p}.networks.{name}",
                f"network {name} is not defined under top-level networks",
                f"declare it: networks: {{{name}: {{driver: overlay}}}}",
            )
    for i, volume in enumerate(service.volumes):
        if volume.type == "volume" and volume.source and volume.source not in stack.volumes:
            yield Hit(
                "SK201",
                f"{p}.volumes[{i}]",
                f"volume {volume.source} is not defined under top-level volumes",
                f"declare it: volumes: {{{volume.source}: {{}}}}",
            )


def _security(p: str, service: Service, kind: str | None) -> Iterator[Hit]:
    if "ALL" not in {cap.upper() for cap in service.cap_drop}:
        if kind is None:
            yield Hit(
                "SK301", f"{p}.cap_drop", "keeps Docker's default capabilities (no cap_drop: [ALL])"
            )
        else:
            needs = _POSTGRES_CAPS if kind in _POSTGRES_FAMILY else "what its entrypoint needs"
            yield Hit(
                "SK301",
                f"{p}.cap_drop",
                f"database ({kind}) keeps Docker's default capabilities; a warning, since "
                "databases need a few at start",
                f"add cap_drop: [ALL] and cap_add only {needs}",
            )
    for i, volume in enumerate(service.volumes):
        if _exposes_docker_socket(volume.source):
            mounted = "the Docker socket" if volume.source.endswith(".sock") else "the socket's dir"
            yield Hit(
                "SK302",
                f"{p}.volumes[{i}]",
                f"mounts {mounted} {volume.source}: root on the node, even read-only",
            )
    for name, value in service.environment.items():
        upper = name.upper()
        # NAME_FILE holds a path to a mounted secret, which is the remedy, not the problem.
        if value and not upper.endswith("_FILE") and any(w in upper for w in _SECRET_WORDS):
            yield Hit(
                "SK303",
                f"{p}.environment.{name}",
                f"{name} looks like a secret but holds a plain value, visible in "
                "docker service inspect",
                "move the value to a Swarm secret and read it from /run/secrets/NAME, "
                f"e.g. via {name}_FILE",
            )
    for i, port in enumerate(service.ports):
        what = DATABASE_PORTS.get(port.target) or kind
        if what is not None:
            where = "the node it runs on" if port.mode == "host" else "every node (routing mesh)"
            yield Hit("SK304", f"{p}.ports[{i}]", f"publishes {what} port {port.target} on {where}")


def _state(p: str, stack: Stack, service: Service, kind: str | None) -> Iterator[Hit]:
    deploy = service.deploy
    policy = deploy.restart_policy
    if kind is not None and (policy is None or policy.condition in ("", "any")):
        path = f"{p}.deploy.restart_policy" if policy else f"{p}.deploy"
        how = (
            "restart_policy.condition is any"
            if policy
            else "no restart_policy (Swarm's default: any)"
        )
        yield Hit(
            "SK401", path, f"database ({kind}) has {how}: it restarts even after a clean shutdown"
        )
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
            "SK402",
            f"{p}.deploy.placement.constraints",
            f"keeps data in node-local volume {', '.join(local)} but is not pinned to a "
            "node; a rescheduled task starts with an empty volume",
        )


def _ignored_keys(p: str, service: Service) -> Iterator[Hit]:
    for key, fix in IGNORED_KEYS.items():
        value = getattr(service, key)
        if value.to_data() if key == "build" else value:
            yield Hit("SK501", f"{p}.{key}", f"{key} is ignored by docker stack deploy", fix)


def _healthcheck(p: str, service: Service) -> Iterator[Hit]:
    test = service.healthcheck.test if service.healthcheck else []
    # Merging appends lists, healthcheck.test included: base [CMD, a] plus an
    # overlay's [CMD-SHELL, b] makes one command that runs "a CMD-SHELL b".
    if sum(word in ("CMD", "CMD-SHELL", "NONE") for word in test) > 1:
        yield Hit(
            "SK105",
            f"{p}.healthcheck.test",
            "healthcheck.test holds more than one command (an overlay's test was appended"
            " to the base's, as docker stack merges lists)",
        )


def check_service(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """Every hit for one service, in rule order."""
    p = f"services.{name}"
    kind = database_kind(service.image)
    yield from _image(p, service)
    yield from _updates(p, service, kind)
    yield from _healthcheck(p, service)
    yield from _references(p, stack, service)
    yield from _security(p, service, kind)
    yield from _state(p, stack, service, kind)
    yield from _ignored_keys(p, service)


def check_stack(stack: Stack) -> Iterator[Hit]:
    """Hits that belong to the stack rather than to a service (network drivers)."""
    for name in sorted(stack.networks):
        network = stack.networks[name]
        if not network.external and network.driver and network.driver != "overlay":
            yield Hit(
                "SK202",
                f"networks.{name}.driver",
                f"network {name} uses driver {network.driver}, not overlay; "
                "stack services span nodes only on overlay networks",
            )
