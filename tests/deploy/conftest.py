"""A real swarm for the deploy tests, and small stacks on it.

Everything the tests create is named ``sktest-deploy-*`` and labelled
``swarmkit-test=deploy``; what an earlier run left is removed first, and
everything again at the end. Under ``CI=true`` a missing engine fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

docker = pytest.importorskip("docker")

PREFIX = "sktest-deploy-"
LABEL = "swarmkit-test=deploy"
IMAGE = "debian:bookworm-slim"
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else (shutil.which("docker") or "")


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], check=check, capture_output=True, text=True, timeout=120)


def cleanup(client: Any) -> None:
    """Remove every stack, service, config and secret the tests ever made."""
    stacks = {
        s.attrs["Spec"]["Labels"].get("com.docker.stack.namespace", "")
        for s in client.services.list(filters={"label": LABEL})
    }
    for stack in sorted(s for s in stacks if s.startswith(PREFIX)):
        _docker("stack", "rm", stack, check=False)
    for service in client.services.list(filters={"label": LABEL}):
        service.remove()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # The low-level list: the high-level one inspects each container and
        # races with the removal under way.
        names = [n for c in client.api.containers(all=True) for n in c.get("Names") or ()]
        if not [n for n in names if n.lstrip("/").startswith(PREFIX)]:
            break
        time.sleep(0.5)
    for kind in (client.configs, client.secrets):
        for obj in kind.list(filters={"label": LABEL}):
            # A container still holding it lets the next run remove it.
            with contextlib.suppress(docker.errors.APIError):
                obj.remove()
    for network in client.networks.list(filters={"label": LABEL}):
        with contextlib.suppress(docker.errors.APIError):
            network.remove()


def swarm_manager() -> Any:
    """A client of this machine's engine, a swarm manager; else fails under CI=true, or skips."""
    try:
        client = docker.from_env(timeout=60)
        swarm = client.info().get("Swarm", {})
        ok = swarm.get("LocalNodeState") == "active" and swarm.get("ControlAvailable")
        reason = "the Docker Engine is not a swarm manager"
    except docker.errors.DockerException as exc:
        ok, reason = False, f"no Docker Engine: {exc}"
    if not ok or not DOCKER:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (../shared/e2e/start-engine.sh starts one)")
        pytest.skip(reason)
    return client


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    client = swarm_manager()
    cleanup(client)
    yield client
    cleanup(client)


STACK_FILE = """\
version: "3.8"
services:
{services}
configs:
  conf:
    file: ./app.conf
    labels: [{label}]
"""

SERVICE = """\
  {name}:
    image: {image}
    command: ["sh", "-c", "i=0; while true; do echo {name} $$i; i=$$((i+1)); sleep 0.3; done"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      timeout: 1s
      retries: 1
    configs: [{{source: conf, target: /app.conf}}]
    deploy:
      replicas: {replicas}
      labels: [{label}]
      update_config: {{parallelism: 0, delay: 0s, monitor: 1s, order: start-first}}
"""


def deploy_stack(stack: str, directory: Path, services: dict[str, int], conf: str = "a") -> Path:
    """Write a stack of busy-looping services, hash its config names, deploy it."""
    from swarmkit.stack import hash_names, load_stack, render_stack

    (directory / "app.conf").write_text(conf)
    body = "".join(
        SERVICE.format(name=n, image=IMAGE, replicas=r, label=LABEL) for n, r in services.items()
    )
    path = directory / "stack.yml"
    path.write_text(STACK_FILE.format(services=body, label=LABEL))
    rendered = render_stack(hash_names(load_stack(str(path)), stack))
    _docker_stdin(rendered, "stack", "deploy", "--resolve-image", "never", "-c", "-", stack)
    return path


def _docker_stdin(text: str, *args: str) -> None:
    subprocess.run([DOCKER, *args], input=text, check=True, capture_output=True, text=True)


def wait_until(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.5)


@pytest.fixture
def stack_name() -> str:
    return f"{PREFIX}{uuid.uuid4().hex[:8]}"
