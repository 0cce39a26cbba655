"""Versioned external secrets: ``<prefix>_<name>_v<N>``, created, listed, removed.

Swarm secrets cannot change; the generated stack names each external secret
with a version (``shop_secret_key_v${SECRET_KEY_VERSION:-1}``) and a rotation
creates the next one (:mod:`swarmkit.deploy.rotate`). Values go to the engine
in the body of an API request through the docker SDK, never on a command line,
and no message of this module ever holds one.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import docker
import docker.errors

from swarmkit.deploy.engine import stack_services
from swarmkit.deploy.models import EngineService
from swarmkit.exceptions import DeployError, EngineError, StackNotFoundError

__all__ = [
    "GENERATORS",
    "SecretUse",
    "SecretVersion",
    "create_secret",
    "format_secrets",
    "generate_value",
    "list_versions",
    "next_version",
    "remove_unused",
    "secret_base",
    "split_version",
    "stack_secrets",
]

_VERSIONED = re.compile(r"^(?P<base>.+)_v(?P<version>[0-9]+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

#: What ``--generate`` accepts: ``hex:<bytes>``, ``base64:<bytes>``, ``password``, or a
#: template holding ``{password}`` (and ``{version}``, the version being created).
GENERATORS = ("hex:N", "base64:N", "password", "TEMPLATE")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
_PASSWORD_LENGTH = 32
_MAX_RANDOM_BYTES = 4096
_MAX_TEMPLATE = 1024
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def split_version(name: str) -> tuple[str, int] | None:
    """``shop_secret_key_v3`` -> ``("shop_secret_key", 3)``; ``None`` without a version."""
    match = _VERSIONED.match(name)
    return (match["base"], int(match["version"])) if match else None


def generate_value(spec: str, version: int | None = None) -> bytes:
    """A random value: ``hex:32`` (32 bytes as 64 hex digits), ``base64:48``, ``password``.

    ``password``: 32 letters and digits (about 190 bits), safe in a URI or a
    shell without quoting. A ``spec`` holding ``{password}`` is a template:
    ``{password}`` becomes such a password and ``{version}`` the ``version``
    being created, as in the database URI whose user is its version's login
    role: ``postgresql://shop_v{version}:{password}@db:5432/shop``. Raises
    :class:`DeployError` for another ``spec``.
    """
    if spec == "password":
        return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(_PASSWORD_LENGTH)).encode()
    if "{" in spec or "}" in spec:
        return _from_template(spec, version)
    kind, _, count = spec.partition(":")
    if kind in ("hex", "base64") and count.isdigit() and 16 <= int(count) <= _MAX_RANDOM_BYTES:
        raw = secrets.token_bytes(int(count))
        return raw.hex().encode() if kind == "hex" else base64.b64encode(raw)
    raise DeployError(
        f"--generate {spec[:80]!r} is not a generator",
        hint=f"use hex:32, base64:48, password (hex and base64 take 16 to "
        f"{_MAX_RANDOM_BYTES} random bytes) or a template with {{password}}",
    )


def _from_template(spec: str, version: int | None) -> bytes:
    names = _PLACEHOLDER.findall(spec)
    rest = _PLACEHOLDER.sub("", spec)
    if len(spec) > _MAX_TEMPLATE or "{" in rest or "}" in rest or "password" not in names:
        raise DeployError(
            f"--generate {spec[:80]!r} is not a template",
            hint=f"up to {_MAX_TEMPLATE} characters with {{password}} (and {{version}}), "
            "no other braces",
        )
    unknown = sorted(set(names) - {"password", "version"})
    if unknown:
        raise DeployError(f"--generate: unknown placeholder {{{unknown[0][:40]}}}",
                          hint="a template knows {password} and {version}")  # fmt: skip
    if "version" in names and version is None:
        raise DeployError("--generate: {version} needs the version being created")

    def fill(match: re.Match[str]) -> str:
        if match[1] == "version":
            return str(version)
        return generate_value("password").decode()

    return _PLACEHOLDER.sub(fill, spec).encode()


@dataclass(frozen=True)
class SecretUse:
    """A service that mounts a secret, and the file name it mounts it as."""

    service: str
    target: str


@dataclass(frozen=True)
class SecretVersion:
    """One version of a versioned secret in the swarm, and who uses it."""

    name: str
    base: str
    version: int
    id: str
    created_at: str
    labels: dict[str, str] = field(default_factory=dict)
    used_by: tuple[SecretUse, ...] = ()

    def age(self, now: float | None = None) -> float | None:
        """Seconds since the engine created it; ``None`` when it did not say."""
        try:
            # Nanoseconds are more than fromisoformat takes before Python 3.11.
            whole = self.created_at.rstrip("Z").split(".")[0]
            created = datetime.fromisoformat(whole + "+00:00").timestamp()
        except ValueError:
            return None
        return max(0.0, (time.time() if now is None else now) - created)

    def as_json(self, now: float | None = None) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": self.base,
            "version": self.version,
            "created_at": self.created_at,
            "age_seconds": None if self.age(now) is None else round(self.age(now) or 0.0),
            "used_by": [{"service": u.service, "target": u.target} for u in self.used_by],
        }


def _references(service: EngineService) -> list[tuple[str, str]]:
    container = service.task_template.get("ContainerSpec") or {}
    refs = []
    for ref in container.get("Secrets") or ():
        target = str((ref.get("File") or {}).get("Name") or ref.get("SecretName", ""))
        refs.append((str(ref.get("SecretName", "")), target))
    return refs


def _uses(client: docker.DockerClient) -> dict[str, list[SecretUse]]:
    # Every service of the swarm: another stack may mount the secret too. The
    # current spec only: Swarm refuses to remove a secret a spec uses, and a
    # rotation's previous spec is the very thing it moves away from.
    uses: dict[str, list[SecretUse]] = {}
    try:
        services = client.services.list()
    except docker.errors.DockerException as exc:
        raise EngineError(f"cannot list services: {exc}") from None
    for sdk_service in services:
        service = EngineService.parse(sdk_service.attrs)
        for name, target in _references(service):
            uses.setdefault(name, []).append(SecretUse(service.name, target))
    return uses


def list_versions(client: docker.DockerClient, bases: Iterable[str]) -> list[SecretVersion]:
    """Every ``<base>_v<N>`` secret of the swarm for ``bases``, by base and version."""
    wanted = set(bases)
    uses = _uses(client)
    try:
        objects = client.secrets.list()
    except docker.errors.DockerException as exc:
        raise EngineError(f"cannot list secrets: {exc}") from None
    found = []
    for obj in objects:
        spec = obj.attrs.get("Spec") or {}
        split = split_version(str(spec.get("Name", "")))
        if split is None or split[0] not in wanted:
            continue
        found.append(
            SecretVersion(
                name=str(spec["Name"]),
                base=split[0],
                version=split[1],
                id=str(obj.id),
                created_at=str(obj.attrs.get("CreatedAt", "")),
                labels={str(k): str(v) for k, v in (spec.get("Labels") or {}).items()},
                used_by=tuple(sorted(uses.get(str(spec["Name"]), ()), key=lambda u: u.service)),
            )
        )
    return sorted(found, key=lambda v: (v.base, v.version))


def stack_secrets(client: docker.DockerClient, stack: str) -> list[SecretVersion]:
    """Every version in the swarm of each versioned secret the stack's services mount.

    :class:`StackNotFoundError` when no service belongs to ``stack``.
    """
    bases = set()
    for sdk_service in stack_services(client, stack):
        for name, _ in _references(EngineService.parse(sdk_service.attrs)):
            split = split_version(name)
            if split:
                bases.add(split[0])
    return list_versions(client, bases)


def secret_base(client: docker.DockerClient, stack: str, name: str, prefix: str | None) -> str:
    """The ``<prefix>_<name>`` the stack's secret ``name`` is versioned under.

    The stack's services say it when one mounts ``name`` (their reference
    names the secret); else ``prefix``, by default the stack's name without
    its last ``_<environment>`` part (``shop_staging`` -> ``shop``), the
    generated project's convention.
    """
    if not _NAME.match(name):
        raise DeployError(f"{name!r} is not a secret name", hint="use letters, digits, _ . -")
    if prefix is None:
        try:
            services = stack_services(client, stack)
        except StackNotFoundError:
            services = []
        for sdk_service in services:
            for secret_name, target in _references(EngineService.parse(sdk_service.attrs)):
                split = split_version(secret_name)
                if split and target == name and split[0].endswith(f"_{name}"):
                    return split[0]
        prefix = stack.rpartition("_")[0] or stack
    return f"{prefix}_{name}"


def next_version(client: docker.DockerClient, base: str, at_least: int = 1) -> int:
    """One more than the highest version of ``base`` in the swarm, and no less than ``at_least``."""
    versions = [v.version for v in list_versions(client, [base])]
    return max([at_least - 1, *versions]) + 1


def create_secret(
    client: docker.DockerClient, name: str, value: bytes, *, labels: dict[str, str] | None = None
) -> str:
    """Create the secret ``name`` holding ``value``; returns its id.

    Raises :class:`DeployError` for an empty value or when the name is taken
    (the message names the secret, never the value).
    """
    if not value:
        raise DeployError(f"the value for {name} is empty", hint="give it on stdin or with --file")
    try:
        created = client.secrets.create(name=name, data=value, labels=labels or {})
    except docker.errors.APIError as exc:
        if exc.status_code == 409:
            raise DeployError(
                f"secret {name} exists already", hint="swarmkit secret ls lists the versions"
            ) from None
        # The engine's explanation never holds the data (it is not echoed).
        raise EngineError(f"cannot create secret {name}: {exc.explanation}") from None
    return str(created.id)


def remove_unused(client: docker.DockerClient, names: Iterable[str]) -> list[str]:
    """Remove each secret of ``names`` that exists and no service uses; returns the removed."""
    uses = _uses(client)
    removed = []
    for name in names:
        if uses.get(name):
            continue
        try:
            client.secrets.get(name).remove()
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as exc:
            if "in use" in str(exc):
                continue  # a service started using it since we looked
            raise EngineError(f"cannot remove secret {name}: {exc.explanation}") from None
        removed.append(name)
    return removed


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def format_secrets(versions: list[SecretVersion], now: float | None = None) -> str:
    """The table of ``swarmkit secret ls``: name, version, who uses it, age."""
    rows = [("NAME", "VERSION", "USED BY", "AGE")]
    for v in versions:
        users = ", ".join(
            u.service
            if v.name.endswith(f"_{u.target}_v{v.version}")
            else f"{u.service} (as {u.target})"
            for u in v.used_by
        )
        rows.append((v.name, str(v.version), users or "unused", _age(v.age(now))))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] + "\n"
        for row in rows
    )
