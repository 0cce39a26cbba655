"""A failed deploy waits for Swarm's rollback and says how it ended, on a real swarm.

A stack of ``app`` (its v2 never passes its healthcheck, so Swarm rolls it
back) and ``worker`` (whose v2 is fine: swarmkit rolls it back with the app).
Either the previous release runs again (exit 1, ``rolled back to <v1 image>``)
or, with the v1 image gone from the node, the rollback cannot start its tasks
(exit 3, the rollback's report). The images are local tags of
``debian:bookworm-slim`` under ``127.0.0.1:1/`` (where nothing listens, so a
pull fails at once). Everything is named ``rollback-*`` and labelled
``swarmkit-test=rollback``, and removed at the end; under ``CI=true`` a
missing engine fails.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import DOCKER, IMAGE, swarm_manager

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.engine

PREFIX = "rollback-"
LABEL = "swarmkit-test=rollback"
REPO = "127.0.0.1:1/"

STACK = """\
version: "3.8"
services:
  app:
    image: {image}
    command: ["sh", "-c", "echo starting {version}; exec sleep 1000"]
    stop_grace_period: 1s
    environment: {{VERSION: "{version}"}}
    healthcheck: {{test: {health}, interval: 1s, timeout: 1s, retries: 1}}
    deploy:
      replicas: 2
      labels: [{label}]
      update_config:
        {{parallelism: 0, delay: 0s, monitor: 2s, order: {order}, failure_action: rollback}}
      rollback_config: {{parallelism: 0, monitor: 2s, order: {order}, failure_action: pause}}
  worker:
    image: {image}
    command: ["sh", "-c", "exec sleep 1000"]
    stop_grace_period: 1s
    environment: {{VERSION: "{version}"}}
    deploy:
      replicas: 1
      labels: [{label}]
      update_config: {{parallelism: 0, delay: 0s, monitor: 1s, order: {order}}}
      rollback_config: {{parallelism: 0, monitor: 1s, order: {order}}}
"""


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], check=check, capture_output=True, text=True, timeout=120)


def _cleanup(client: Any) -> None:
    """Remove this file's stacks and image tags, and nothing else."""
    stacks = {
        s.attrs["Spec"]["Labels"].get("com.docker.stack.namespace", "")
        for s in client.services.list(filters={"label": LABEL})
    }
    for stack in sorted(s for s in stacks if s.startswith(PREFIX)):
        _docker("stack", "rm", stack, check=False)
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith(f"{REPO}{PREFIX}"):
                # Only the tag goes: the image is debian:bookworm-slim's.
                _docker("image", "rm", tag, check=False)


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    client = swarm_manager()
    _cleanup(client)
    yield client
    _cleanup(client)


@pytest.fixture
def stack_name() -> str:
    return f"{PREFIX}{uuid.uuid4().hex[:8]}"


def tag(stack: str, version: str) -> str:
    """A local image for ``version``: a new tag of the stand-in image."""
    image = f"{REPO}{stack}:{version}"
    _docker("tag", IMAGE, image)
    return image


def write(
    directory: Path, image: str, version: str, *, healthy: bool = True, order: str = "start-first"
) -> str:
    health = '["CMD", "true"]' if healthy else '["CMD", "false"]'
    path = directory / f"stack-{version}.yml"
    text = STACK.format(image=image, version=version, health=health, order=order, label=LABEL)
    path.write_text(text)
    return str(path)


def cli_deploy(path: str, stack: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarmkit", "deploy", "-q", "-c", path, "--name", stack,
         "--resolve-image", "never", "--timeout", "90", *options],
        capture_output=True, text=True, check=False, timeout=300,
        env={"SWARMKIT_DOCKER": DOCKER, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def running(engine: Any, service: str) -> list[tuple[str, list[str]]]:
    """(image, env) of each desired-running task of ``service``."""
    tasks = engine.services.get(service).tasks(filters={"desired-state": "running"})
    return [
        (
            t["Spec"]["ContainerSpec"]["Image"].split("@")[0],
            list(t["Spec"]["ContainerSpec"].get("Env") or ()),
        )
        for t in tasks
        if t["Status"]["State"] == "running"
    ]


def update_state(engine: Any, service: str) -> str:
    return str((engine.services.get(service).attrs.get("UpdateStatus") or {}).get("State", ""))


def test_a_rollback_that_brings_the_previous_release_back_exits_1(
    engine: Any, stack_name: str, tmp_path: Path
) -> None:
    v1, v2 = tag(stack_name, "v1"), tag(stack_name, "v2")
    assert cli_deploy(write(tmp_path, v1, "v1"), stack_name).returncode == 0

    started = time.monotonic()
    result = cli_deploy(write(tmp_path, v2, "v2", healthy=False), stack_name)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"swarmkit: error: stack {stack_name} did not converge: ")
    assert f"{stack_name}_app update rollback_" in last
    assert last.endswith(f"; rolled back to {v1}; rolled back with it: {stack_name}_worker"), last
    # The report of the failed update comes first.
    assert result.stderr.startswith(f"{stack_name}_app: update rollback_"), result.stderr

    # When deploy returns, the previous release serves again, in full: no
    # longer only Swarm's rollback_started.
    app, worker = f"{stack_name}_app", f"{stack_name}_worker"
    assert update_state(engine, app) == "rollback_completed"
    assert update_state(engine, worker) == "rollback_completed"
    assert running(engine, app) == [(v1, ["VERSION=v1"])] * 2
    assert running(engine, worker) == [(v1, ["VERSION=v1"])]
    print(f"failed deploy with its rollback: {took:.1f}s")


def test_a_rollback_that_cannot_start_the_previous_release_exits_3(
    engine: Any, stack_name: str, tmp_path: Path
) -> None:
    v1, v2 = tag(stack_name, "v1"), tag(stack_name, "v2")
    # Stop-first: the v1 tasks go before v2 starts, so the rollback must
    # start new v1 tasks, and the node no longer has their image.
    first = cli_deploy(write(tmp_path, v1, "v1", order="stop-first"), stack_name)
    assert first.returncode == 0, first.stderr
    _docker("image", "rm", v1)

    started = time.monotonic()
    result = cli_deploy(
        write(tmp_path, v2, "v2", healthy=False, order="stop-first"),
        stack_name,
        "--rollback-timeout",
        "120",
    )
    took = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    last = lines[-1]
    assert last.startswith(f"swarmkit: error: stack {stack_name} did not converge: "), last
    assert "; the rollback failed: " in last, last
    assert "the previous release is not serving either" in last
    # The failing tasks' report comes first: the update's state, and the
    # rollback's v1 tasks the node cannot start (which of the two the engine
    # reports first depends on when the wait sees them).
    report = lines[:-1]
    assert report and report[0].startswith(f"{stack_name}_app: "), result.stderr
    assert any(line.startswith(f"{stack_name}_app: update rollback_") for line in report) or any(
        f"{stack_name}_app: cannot pull its image {v1}" in line for line in report
    ), result.stderr
    assert any(f"No such image: {v1}" in line for line in report), result.stderr
    # A paused rollback or an image the node cannot pull ends the wait at
    # once: it is not the rollback timeout that ended it.
    assert "the rollback did not finish within" not in last, last
    # Neither release runs the app: its v2 tasks failed, its v1 ones cannot start.
    assert running(engine, f"{stack_name}_app") == []
    print(f"failed deploy with a failed rollback: {took:.1f}s")
