"""Deploy a stack with the docker CLI, then wait for it.

The rendered stack (file-based configs and secrets named after their content,
see :func:`swarmkit.stack.hash_names`) goes to ``docker stack deploy -c -`` on
standard input: the CLI creates exactly the objects it always creates, and
Swarm's own update and rollback policies apply.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

import docker

from swarmkit.deploy.docker_cli import docker_cli_path, run_docker
from swarmkit.deploy.engine import cli_docker_host
from swarmkit.deploy.rollback import finish_rollback
from swarmkit.deploy.status import ServiceStatus
from swarmkit.deploy.wait import snapshot, wait_for_stack
from swarmkit.exceptions import DeployError, DeployFailedError, DockerCLIError, RollbackFailedError

__all__ = ["deploy_stack", "render_for_deploy"]

RESOLVE_IMAGE = ("always", "changed", "never")

# `docker stack deploy` creates only the networks it does not list, and a
# removed stack's overlay network is still listed for a few seconds after
# `docker stack rm` (docker/for-linux#86): the service create then fails with
# "network <stack>_<name> not found". The command is idempotent, so it runs
# again until the network is gone from the listing and gets created anew.
_LINGERING_NETWORK = re.compile(r"network (\S+) not found")
_LINGERING_NETWORK_WAIT = 60.0


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
    rollback_timeout: float = 600,
    poll: float = 1.0,
    progress: Callable[[list[ServiceStatus]], None] | None = None,
    docker_cli: str | None = None,
) -> list[ServiceStatus]:
    """Render, deploy and (unless ``wait`` is false) wait until converged.

    Raises :class:`DeployFailedError` when Swarm pauses an update, when
    ``timeout`` passes, or once Swarm's rollback of a failed update has
    brought the previous release back; the other services this deploy
    changed are rolled back with it (see
    :func:`~swarmkit.deploy.rollback.finish_rollback`), so the whole
    release goes, and the message says ``rolled back to <image>``.
    :class:`~swarmkit.exceptions.RollbackFailedError` (a
    :class:`DeployFailedError`) when that rollback pauses, cannot pull the
    previous image or does not finish within ``rollback_timeout``: the stack
    runs a mix of both releases. :class:`~swarmkit.exceptions.DockerCLIError`
    when the docker CLI refuses the stack. Returns the final status of each
    service (empty without waiting).
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
    _stack_deploy(command, text, stack, cli, cli_docker_host(client))
    if not wait:
        return []
    try:
        return wait_for_stack(client, stack, before, timeout=timeout, poll=poll, progress=progress)
    except DeployFailedError as failed:
        try:
            done = finish_rollback(
                client,
                stack,
                before,
                timeout=rollback_timeout,
                poll=poll,
                progress=progress,
                docker_cli=cli,
            )
        except RollbackFailedError as exc:
            # A service's rollback report holds its update's failed tasks
            # too (newest first): one report per service.
            again = {report.split(":", 1)[0] for report in exc.failures}
            first = tuple(r for r in failed.failures if r.split(":", 1)[0] not in again)
            raise RollbackFailedError(
                f"{failed.message}; {exc.message}", failures=first + exc.failures, hint=exc.hint
            ) from failed
        if done is None:
            raise
        raise DeployFailedError(
            f"{failed.message}; {done.describe()}", failures=failed.failures, hint=failed.hint
        ) from failed


def _stack_deploy(
    command: list[str], text: str, stack: str, cli: str, docker_host: str | None
) -> None:
    """``docker stack deploy``, again while it fails on one of the stack's lingering networks."""
    deadline = time.monotonic() + _LINGERING_NETWORK_WAIT
    while True:
        try:
            run_docker(command, stdin=text, docker_cli=cli, docker_host=docker_host)
            return
        except DockerCLIError as exc:
            lingering = _LINGERING_NETWORK.search(exc.stderr)
            if not lingering or not lingering[1].startswith(f"{stack}_"):
                raise
            if time.monotonic() > deadline:
                raise
        time.sleep(2.0)
