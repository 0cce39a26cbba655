"""The lint rules on images, rolling updates, healthchecks and references (SK1xx, SK2xx).

Each check is a plain function over the models, registered with its code,
severity, title and fix in :data:`rules` (see :mod:`swarmkit.stack.lint_registry`).
The rules on security, state and ignored keys are in
:mod:`swarmkit.stack.lint_hardening`.
"""

from __future__ import annotations

from collections.abc import Iterator

from swarmkit.stack.lint_registry import Hit, RuleSet, Severity
from swarmkit.stack.model import Stack
from swarmkit.stack.service import Service

__all__ = ["DATABASE_IMAGES", "database_kind", "rules", "split_image"]

#: The rules of this module.
rules = RuleSet()

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


def _has_healthcheck(service: Service) -> bool:
    check = service.healthcheck
    if check is None or check.disable or check.test[:1] == ["NONE"]:
        return False
    # An empty ``healthcheck: {}`` neither adds a test nor tunes the image's.
    return bool(check.to_data())


_HEALTHCHECK_WORDS = ("CMD", "CMD-SHELL", "NONE")


@rules.service_rule(
    "SK101",
    Severity.ERROR,
    title="image has no tag, or the tag latest (a digest is fine)",
    fix="pin a version tag or a digest: image: name:1.2.3 or name@sha256:...",
)
def image_pinned(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """The image names a version: a tag other than ``latest``, or a digest."""
    loc = ("services", name, "image")
    image = service.image
    if not image:
        yield Hit(
            loc,
            "no image: docker stack deploy cannot create the service",
            "set image: to a registry path with a pinned tag or digest",
        )
        return
    repository, tag, digest = split_image(image)
    if not repository or repository.endswith("/") or image != image.strip():
        yield Hit(
            loc,
            f"image {image!r} has no repository name (an unset variable?); docker stack deploy"
            " refuses it",
            "set the variables the image is built from, e.g. IMAGE and TAG",
        )
        return
    if digest:
        return
    if not tag:
        yield Hit(loc, f"image {image} has no tag, so each deploy runs whatever 'latest' is then")
    elif tag == "latest":
        yield Hit(
            loc,
            f"image {image} uses the moving tag 'latest'; rollbacks have no version to return to",
        )


@rules.service_rule(
    "SK102",
    Severity.ERROR,
    title="update or rollback order start-first without a healthcheck",
    fix="add a healthcheck so Swarm waits for the new task, or use order: stop-first",
)
def start_first_has_healthcheck(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """``order: start-first`` only helps when Swarm can tell the new task is ready."""
    for key in ("update_config", "rollback_config"):
        config = getattr(service.deploy, key)
        if config is not None and config.order == "start-first" and not _has_healthcheck(service):
            why = "the healthcheck disabled" if service.healthcheck else "no healthcheck"
            yield Hit(
                ("services", name, "deploy", key, "order"),
                f"order start-first with {why}: Swarm stops the old task as soon as "
                "the new one starts, before it can serve",
            )


def _rolling(service: Service) -> bool:
    # Jobs run to completion; they have no rolling update to protect.
    return service.deploy.mode in ("", "replicated", "global")


@rules.service_rule(
    "SK103",
    Severity.WARNING,
    title="no update_config, or its failure_action is not rollback",
    fix="set deploy.update_config.failure_action: rollback",
)
def update_rolls_back(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """A failed update rolls back instead of pausing half-done."""
    if not _rolling(service):
        return
    update = service.deploy.update_config
    if update is None:
        yield Hit(
            ("services", name, "deploy"),
            "no deploy.update_config: a failed update pauses half-done instead of rolling back",
        )
    elif update.failure_action != "rollback":
        action = update.failure_action or "pause"
        yield Hit(
            ("services", name, "deploy", "update_config", "failure_action"),
            f"failure_action is {action}: a failed update is not rolled back",
        )


@rules.service_rule(
    "SK104",
    Severity.WARNING,
    title="one replica updated stop-first: down during every update",
    fix="set deploy.update_config.order: start-first with a healthcheck, or run 2+ replicas",
)
def single_replica_stays_up(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """One replica updated stop-first is down for the length of each update.

    Not for databases: they run one replica on purpose, and a second copy
    must not start on the same data.
    """
    deploy = service.deploy
    update = deploy.update_config
    replicas = 1 if deploy.replicas is None else deploy.replicas
    order = update.order if update is not None else ""
    if (
        deploy.mode in ("", "replicated")
        and replicas == 1
        and order != "start-first"
        and database_kind(service.image) is None
    ):
        loc: tuple[str, ...] = ("services", name, "deploy")
        yield Hit(
            (*loc, "update_config", "order") if update is not None else loc,
            f"one replica updated {order or 'stop-first (the default)'}: "
            "the service is down during every update",
        )


@rules.service_rule(
    "SK105",
    Severity.ERROR,
    title="healthcheck.test holds two commands (merged from two files)",
    fix="set the whole healthcheck in one file, or override it with disable + a new test",
)
def one_healthcheck_command(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """``healthcheck.test`` is one command."""
    test = service.healthcheck.test if service.healthcheck else []
    # Merging appends lists, healthcheck.test included: base [CMD, a] plus an
    # overlay's [CMD-SHELL, b] makes one command that runs "a CMD-SHELL b".
    if sum(word in _HEALTHCHECK_WORDS for word in test) > 1:
        yield Hit(
            ("services", name, "healthcheck", "test"),
            "healthcheck.test holds more than one command (an overlay's test was appended"
            " to the base's, as docker stack merges lists)",
        )


@rules.service_rule(
    "SK201",
    Severity.ERROR,
    title="secret, config, network or named volume not declared at top level",
    fix="declare it under the top-level secrets, configs, networks or volumes key",
)
def references_declared(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """What a service names (secrets, configs, networks, named volumes) is declared."""
    p = ("services", name)
    for i, secret in enumerate(service.secrets):
        if secret.source not in stack.secrets:
            yield Hit(
                (*p, "secrets", i),
                f"secret {secret.source} is not defined under top-level secrets",
                f"declare it: secrets: {{{secret.source}: {{external: true}}}} or a file",
            )
    for i, config in enumerate(service.configs):
        if config.source not in stack.configs:
            yield Hit(
                (*p, "configs", i),
                f"config {config.source} is not defined under top-level configs",
                f"declare it: configs: {{{config.source}: {{file: ...}}}} or external",
            )
    for network in service.networks:
        # "default" is the stack's implicit network; the CLI accepts it undeclared.
        if network not in stack.networks and network != "default":
            yield Hit(
                (*p, "networks", network),
                f"network {network} is not defined under top-level networks",
                f"declare it: networks: {{{network}: {{driver: overlay}}}}",
            )
    for i, volume in enumerate(service.volumes):
        if volume.type == "volume" and volume.source and volume.source not in stack.volumes:
            yield Hit(
                (*p, "volumes", i),
                f"volume {volume.source} is not defined under top-level volumes",
                f"declare it: volumes: {{{volume.source}: {{}}}}",
            )


@rules.stack_rule(
    "SK202",
    Severity.ERROR,
    title="network driver set and not overlay (network not external)",
    fix="use driver: overlay (or leave it unset), or mark an existing network external: true",
)
def networks_are_overlay(stack: Stack) -> Iterator[Hit]:
    """Stack services span nodes only on overlay networks."""
    for name in sorted(stack.networks):
        network = stack.networks[name]
        if not network.external and network.driver and network.driver != "overlay":
            yield Hit(
                ("networks", name, "driver"),
                f"network {name} uses driver {network.driver}, not overlay; "
                "stack services span nodes only on overlay networks",
            )
