"""Running the docker CLI, for what the docker SDK has no call for.

``docker stack deploy`` (the CLI builds the stack's objects itself) and
``docker service rollback`` (the SDK cannot ask for the previous spec) run
through :func:`run_docker`; a refusal is a :class:`DockerCLIError` that keeps
the command, the exit code and the CLI's standard error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from swarmkit.exceptions import DockerCLIError, EngineError

__all__ = ["docker_cli_path", "run_docker"]


def docker_cli_path() -> str:
    """``$SWARMKIT_DOCKER``, else ``docker`` on ``PATH``; :class:`EngineError` if neither."""
    path = os.environ.get("SWARMKIT_DOCKER") or shutil.which("docker")
    if not path:
        raise EngineError(
            "the docker CLI is not on PATH",
            hint="install the docker client; swarmkit deploy runs docker stack deploy",
        )
    return path


def run_docker(
    args: Sequence[str],
    *,
    stdin: str | None = None,
    docker_cli: str | None = None,
    docker_host: str | None = None,
) -> str:
    """Run ``docker <args>`` (with ``stdin`` on its standard input); its standard output.

    The environment is passed on as is: ``DOCKER_HOST`` and the rest reach
    the CLI as they reach the SDK. ``docker_host`` replaces ``DOCKER_HOST``
    (an :func:`~swarmkit.deploy.engine.engine_session`'s forwarded socket,
    see :func:`~swarmkit.deploy.engine.cli_docker_host`); the TLS variables,
    meant for the original host, are then dropped.
    """
    command = [docker_cli or docker_cli_path(), *args]
    env = os.environ.copy()
    if docker_host is not None:
        for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"):
            env.pop(name, None)
        env["DOCKER_HOST"] = docker_host
    try:
        result = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
    except OSError as exc:
        raise DockerCLIError(command, None, str(exc)) from exc
    if result.returncode != 0:
        raise DockerCLIError(command, result.returncode, result.stderr)
    return result.stdout
