"""Deploy a stack with the docker CLI, then wait for it.

The rendered stack (file-based configs and secrets named after their content,
see :func:`swarmkit.stack.hash_names`) goes to ``docker stack deploy -c -`` on
standard input: the CLI creates exactly the objects it always creates, and
Swarm's own update and rollback policies apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import docker

from swarmkit.deploy.docker_cli import docker_cli_path, run_docker
from swarmkit.deploy.engine import cli_docker_host
from swarmkit.deploy.rollback import rollback_companions
from swarmkit.deploy.status import ServiceStatus
from swarmkit.deploy.wait import snapshot, wait_for_stack
from swarmkit.exceptions import DeployError, DeployFailedError

__all__ = ["deploy_stack", "render_for_deploy"]

RESOLVE_IMAGE = ("always", "changed", "never")


def render_for_deploy(files: Sequence[str], stack: str, *, env_file: str | None = None) -> str:
    """The merged stack of ``files`` with content-addressed config and secret names."""
    from swarmkit.stack import hash_names, load_stack, render_stack

    return render_stack(hash_names(load_stack(*files, env_file=env_file), stack))


def deploy_stack(
    client: docker.DockerClient,
    files: Sequence[str],
    stack: str,
    *,
    env_file: str | None = None,
    prune: bool = False,
    resolve_image: str = "always",
    wait: bool = True,
    timeout: float = 600,
    poll: float = 1.0,
    progress: Callable[[list[ServiceStatus]], None] | None = None,
    docker_cli: str | None = None,
) -> list[ServiceStatus]:
    """Render, deploy and (unless ``wait`` is false) wait until converged.

    Raises :class:`DeployFailedError` when Swarm rolls back or pauses an
    update, or ``timeout`` passes; after a rollback by Swarm the other
    services this deploy changed are rolled back too (see
    :func:`~swarmkit.deploy.rollback.rollback_companions`), so the whole
    release goes; :class:`~swarmkit.exceptions.DockerCLIError` when the
    docker CLI refuses the stack. Returns the final status of each service (empty
    without waiting).
    """
    if resolve_image not in RESOLVE_IMAGE:
        raise DeployError(f"--resolve-image must be one of {', '.join(RESOLVE_IMAGE)}")
    text = render_for_deploy(files, stack, env_file=env_file)
    before = snapshot(client, stack)
    cli = docker_cli or docker_cli_path()
    command = [
        "stack",
        "deploy",
        "--with-registry-auth",
        "--resolve-image",
        resolve_image,
        "-c",
        "-",
    ]
    if prune:
        command.append("--prune")
    command.append(stack)
    run_docker(command, stdin=text, docker_cli=cli, docker_host=cli_docker_host(client))
    if not wait:
        return []
    try:
        return wait_for_stack(client, stack, before, timeout=timeout, poll=poll, progress=progress)
    except DeployFailedError as failed:
        try:
            companions = rollback_companions(
                client, stack, before, timeout=timeout, poll=poll, docker_cli=cli
            )
        except DeployError as exc:
            raise DeployFailedError(
                f"{failed.message}; rolling back the rest of the release failed too: {exc}",
                failures=failed.failures,
                hint=failed.hint,
            ) from failed
        if not companions:
            raise
        names = ", ".join(companions)
        raise DeployFailedError(
            f"{failed.message}; rolled back with it: {names}",
            failures=failed.failures,
            hint=failed.hint,
        ) from failed
