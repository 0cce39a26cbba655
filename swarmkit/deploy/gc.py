"""Remove a stack's content-addressed configs and secrets no service uses.

:func:`swarmkit.stack.hash_names` names every file-based config and secret
``<base>_<12 hex>``; each changed file leaves the old object behind. Only
objects with the stack's label and such a name are candidates; the newest
``keep`` unused objects of each base name stay, for a rollback to find them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from swarmkit.deploy.models import STACK_LABEL, EngineService
from swarmkit.exceptions import DeployError, EngineError

__all__ = ["MAX_KEEP", "Removed", "gc_stack"]

#: The most unused objects of one name ``keep`` may ask for.
MAX_KEEP = 1000

_HASHED = re.compile(r"^(?P<base>.+)_[0-9a-f]{12}$")


@dataclass(frozen=True)
class Removed:
    """One config or secret that :func:`gc_stack` removed (or would remove)."""

    kind: str  # "config" or "secret"
    name: str


def gc_stack(
    client: docker.DockerClient, stack: str, *, keep: int = 0, dry_run: bool = False
) -> list[Removed]:
    """Remove the stack's unused content-addressed configs and secrets.

    Keeps, for each base name, the newest ``keep`` unused ones (by creation
    time). Returns what was removed, sorted by kind and name.
    """
    if not 0 <= keep <= MAX_KEEP:
        raise DeployError(
            f"--keep must be between 0 and {MAX_KEEP}, not {keep}",
            hint="it is the number of unused configs and secrets of each name to keep",
        )
    used_configs, used_secrets = _used(client)
    label = {"label": f"{STACK_LABEL}={stack}"}
    removed: list[Removed] = []
    for kind, objects, used in (
        ("config", client.configs.list(filters=label), used_configs),
        ("secret", client.secrets.list(filters=label), used_secrets),
    ):
        groups: dict[str, list[Any]] = {}
        for obj in objects:
            match = _HASHED.match(str(obj.name))
            if match and obj.id not in used:
                groups.setdefault(match["base"], []).append(obj)
        for group in groups.values():
            group.sort(key=lambda o: str(o.attrs.get("CreatedAt", "")), reverse=True)
            for obj in group[keep:]:
                if dry_run or _remove(obj, kind):
                    removed.append(Removed(kind, str(obj.name)))
    return sorted(removed, key=lambda r: (r.kind, r.name))


def _used(client: docker.DockerClient) -> tuple[set[str], set[str]]:
    # Every service of the swarm counts, not only the stack's: another stack
    # may use an object by name as an external one. The previous spec counts
    # too: `swarmkit rollback` (and Swarm's automatic rollback) returns to it.
    configs: set[str] = set()
    secrets: set[str] = set()
    for sdk_service in client.services.list():
        service = EngineService.parse(sdk_service.attrs)
        for template in (service.task_template, service.previous_task_template or {}):
            container = template.get("ContainerSpec") or {}
            configs.update(str(c["ConfigID"]) for c in container.get("Configs") or ())
            secrets.update(str(s["SecretID"]) for s in container.get("Secrets") or ())
    return configs, secrets


def _remove(obj: Any, kind: str) -> bool:
    try:
        obj.remove()
    except docker.errors.NotFound:
        return False  # removed meanwhile: the goal is reached
    except docker.errors.APIError as exc:
        # A service created since we listed may use it now; that is an error
        # only if the engine says something else.
        if "in use" not in str(exc):
            raise EngineError(f"cannot remove {kind} {obj.name}: {exc.explanation}") from exc
        return False
    return True
