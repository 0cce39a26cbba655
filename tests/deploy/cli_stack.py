"""The docker CLI for the tests that drive ``swarmkit secret``: a call, and a stack's removal."""

from __future__ import annotations

import subprocess
import time


def docker(*args: str, stdin: str | None = None, check: bool = True) -> str:
    """``docker ARGS``' standard output; its standard error as the failure when ``check``."""
    done = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    if check and done.returncode:
        raise AssertionError(done.stderr)
    return done.stdout


def remove_stack(stack: str, label: str) -> None:
    """``stack``, once its containers are gone, and every secret labelled ``label``."""
    docker("stack", "rm", stack, check=False)
    deadline = time.monotonic() + 60
    while docker("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={stack}"):
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for secret in docker("secret", "ls", "-q", "--filter", f"label={label}").split():
        docker("secret", "rm", secret, check=False)
