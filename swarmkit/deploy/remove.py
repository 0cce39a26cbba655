"""Remove a whole stack: its services, then what ``docker stack rm`` leaves behind.

``docker stack rm`` removes the stack's services, networks, configs and
secrets but returns before the tasks are gone, so an object a task still
holds stays behind, and it never removes volumes. :func:`remove_stack`
waits until no task and no network of the stack is left, then removes every
config and secret with the stack's label and, with ``volumes=True``, every
volume with that label (the docker CLI labels the volumes it declares) or
named ``<stack>_<volume>``. What a review app's stop job needs: nothing of
the stack left behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import docker
import docker.errors

from swarmkit.deploy.docker_cli import run_docker
from swarmkit.deploy.engine import cli_docker_host
from swarmkit.deploy.models import STACK_LABEL
from swarmkit.exceptions import DeployError, EngineError, StackNotFoundError

__all__ = ["StackRemoval", "remove_stack"]


@dataclass
class StackRemoval:
    """What :func:`remove_stack` removed, by kind, each list sorted by name."""

    services: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


def remove_stack(
    client: docker.DockerClient,
    stack: str,
    *,
    volumes: bool = False,
    timeout: float = 120,
    poll: float = 0.5,
    docker_cli: str | None = None,
) -> StackRemoval:
    """Remove ``stack`` and wait until its tasks are gone; with ``volumes``, its volumes too.

    :class:`StackNotFoundError` when nothing carries the stack's label (no
    service, config, secret or volume): a stop job for a stack already gone
    fails loudly rather than removing nothing; :class:`DeployError` when the
    tasks are still there after ``timeout`` seconds.
    """
    label = {"label": f"{STACK_LABEL}={stack}"}
    removal = StackRemoval(
        services=sorted(str(s.name) for s in client.services.list(filters=label))
    )
    if not removal.services and not _leftovers(client, stack, label, volumes):
        raise StackNotFoundError(stack)
    if removal.services:
        run_docker(["stack", "rm", stack], docker_cli=docker_cli,
                   docker_host=cli_docker_host(client))  # fmt: skip
    deadline = time.monotonic() + timeout
    # The low-level list: the collection's list inspects each container it
    # lists, and one the engine removes in between fails it with NotFound.
    while client.api.containers(all=True, filters=label) or client.networks.list(filters=label):
        if time.monotonic() > deadline:
            raise DeployError(
                f"the tasks of stack {stack} are still there after {timeout:g}s",
                hint="see `docker ps -a --filter label=" + f"{STACK_LABEL}={stack}`",
            )
        time.sleep(poll)
    removal.configs = _remove_all(client.configs.list(filters=label), "config")
    removal.secrets = _remove_all(client.secrets.list(filters=label), "secret")
    if volumes:
        removal.volumes = _remove_all(_volumes(client, stack, label), "volume", deadline, poll)
    return removal


def _volumes(client: docker.DockerClient, stack: str, label: dict[str, str]) -> list[object]:
    labelled = {v.name: v for v in client.volumes.list(filters=label)}
    # A volume a node created before the label existed, or another tool's.
    named = {v.name: v for v in client.volumes.list() if str(v.name).startswith(f"{stack}_")}
    return list({**named, **labelled}.values())


def _leftovers(client: docker.DockerClient, stack: str, label: dict[str, str],
               volumes: bool) -> bool:  # fmt: skip
    return bool(client.configs.list(filters=label) or client.secrets.list(filters=label)
                or (volumes and _volumes(client, stack, label)))  # fmt: skip


def _remove_all(objects: list[object], kind: str, deadline: float = 0.0,
                poll: float = 0.5) -> list[str]:  # fmt: skip
    removed = []
    for obj in objects:
        name = str(getattr(obj, "name", ""))
        while True:
            try:
                obj.remove()  # type: ignore[attr-defined]
            except docker.errors.NotFound:
                break  # removed meanwhile: the goal is reached
            except docker.errors.APIError as exc:
                # A volume is released a moment after its container is removed.
                if "in use" in str(exc) and time.monotonic() < deadline:
                    time.sleep(poll)
                    continue
                raise EngineError(f"cannot remove {kind} {name}: {exc.explanation}") from exc
            removed.append(name)
            break
    return sorted(removed)
