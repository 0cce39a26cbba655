"""Running the real ``docker stack config``: the oracle of the stack tests.

It needs no engine. Without a docker CLI the tests that use it skip on a
developer machine and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["docker_stack_config", "require_docker"]


def require_docker() -> str:
    """The docker CLI's path; skip (or, under CI=true, fail) when there is none."""
    docker = shutil.which("docker")
    if docker is None:
        message = "the docker CLI is not on PATH (`docker stack config` is the oracle)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return docker


def docker_stack_config(
    files: list[Path], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``docker stack config -c F ...`` with exactly ``env`` (plus PATH and HOME)."""
    docker = require_docker()
    args = [docker, "stack", "config"]
    for file in files:
        args += ["-c", str(file)]
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    environment.update(env or {})
    return subprocess.run(
        args, capture_output=True, text=True, env=environment, cwd=cwd, check=False, timeout=60
    )
