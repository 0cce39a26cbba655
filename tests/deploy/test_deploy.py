"""deploy and wait against a real swarm: converge, and a rollback reported as failure."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from swarmkit.deploy import deploy_stack, snapshot
from swarmkit.exceptions import DeployFailedError
from tests.deploy.conftest import DOCKER, LABEL

pytestmark = pytest.mark.engine

STACK = """\
version: "3.8"
services:
  app:
    image: debian:bookworm-slim
    command: ["sh", "-c", "echo starting {version}; exec sleep 1000"]
    stop_grace_period: 1s
    environment: {{VERSION: "{version}"}}
    healthcheck:
      test: {health}
      interval: 1s
      timeout: 1s
      retries: 1
    configs: [{{source: conf, target: /app.conf}}]
    deploy:
      replicas: 2
      labels: [{label}]
      update_config:
        {{parallelism: 1, delay: 0s, monitor: 2s, order: start-first, failure_action: rollback}}
      rollback_config: {{parallelism: 0, order: start-first}}
configs:
  conf:
    file: ./app.conf
    labels: [{label}]
"""


def write(directory: Path, version: str, *, healthy: bool = True, conf: str = "a") -> str:
    (directory / "app.conf").write_text(conf)
    health = '["CMD", "true"]' if healthy else '["CMD", "false"]'
    path = directory / "stack.yml"
    path.write_text(STACK.format(version=version, health=health, label=LABEL))
    return str(path)


def deploy(path: str, stack: str, **kwargs: Any) -> Any:
    from swarmkit.deploy import connect

    return deploy_stack(
        connect(), [path], stack, resolve_image="never", timeout=90, docker_cli=DOCKER, **kwargs
    )


def env_of(engine: Any, stack: str) -> list[str]:
    service = engine.services.get(f"{stack}_app")
    return list(service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"])


def test_deploy_converges_then_rollback_fails(engine: Any, stack_name: str, tmp_path: Path) -> None:
    assert snapshot(engine, stack_name) == {}
    rows = deploy(write(tmp_path, "v1"), stack_name)
    assert [(r.name, r.running, r.healthy, r.desired) for r in rows] == [
        (f"{stack_name}_app", 2, 2, 2)
    ]
    assert env_of(engine, stack_name) == ["VERSION=v1"]

    # A good update: every task is from the new spec when deploy returns.
    rows = deploy(write(tmp_path, "v2", conf="b"), stack_name)
    service = engine.services.get(f"{stack_name}_app")
    tasks = service.tasks(filters={"desired-state": "running"})
    assert len(tasks) == 2
    assert all(t["Spec"]["ContainerSpec"]["Env"] == ["VERSION=v2"] for t in tasks)
    assert service.attrs["UpdateStatus"]["State"] == "completed"

    # A bad update: the healthcheck never passes, Swarm rolls back, deploy fails.
    with pytest.raises(DeployFailedError) as failed:
        deploy(write(tmp_path, "v3", healthy=False), stack_name)
    assert "rollback" in str(failed.value)
    assert f"{stack_name}_app" in str(failed.value)
    report = "\n".join(failed.value.failures)
    assert "starting v3" in report or "task" in report
    assert env_of(engine, stack_name) == ["VERSION=v2"]

    # The same good files again: the old rollback status is not this deploy's.
    rows = deploy(write(tmp_path, "v2", conf="b"), stack_name)
    assert all(r.converged for r in rows)

    # The CLI: exit 1 with the cause on a bad deploy, one error line last.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "swarmkit",
            "deploy",
            "-q",
            "-c",
            write(tmp_path, "v4", healthy=False),
            "--name",
            stack_name,
            "--resolve-image",
            "never",
            "--timeout",
            "90",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        env={"SWARMKIT_DOCKER": DOCKER, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"swarmkit: error: stack {stack_name} did")


def test_rollback_returns_to_previous_spec(engine: Any, stack_name: str, tmp_path: Path) -> None:
    from swarmkit.deploy import connect, rollback_stack

    deploy(write(tmp_path, "v1"), stack_name)
    deploy(write(tmp_path, "v2"), stack_name)
    assert env_of(engine, stack_name) == ["VERSION=v2"]
    rows = rollback_stack(connect(), stack_name, timeout=90, docker_cli=DOCKER)
    assert [(r.running, r.healthy, r.update_state) for r in rows] == [(2, 2, "rollback_completed")]
    assert all(r.converged for r in rows)
    assert env_of(engine, stack_name) == ["VERSION=v1"]
    tasks = engine.services.get(f"{stack_name}_app").tasks(filters={"desired-state": "running"})
    assert all(t["Spec"]["ContainerSpec"]["Env"] == ["VERSION=v1"] for t in tasks)

    result = subprocess.run(
        [sys.executable, "-m", "swarmkit", "rollback", stack_name, "--service", "nope"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"swarmkit: error: stack {stack_name!r} has no service 'nope'\n"

    # A second rollback would bring v2 back: refused, v1 stays.
    again = subprocess.run(
        [sys.executable, "-m", "swarmkit", "rollback", stack_name],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert again.returncode == 2
    assert again.stderr.startswith(f"swarmkit: error: nothing to roll back in stack {stack_name!r}")
    assert env_of(engine, stack_name) == ["VERSION=v1"]


def test_task_that_exits_is_reported_with_its_exit_code(
    engine: Any, stack_name: str, tmp_path: Path
) -> None:
    deploy(write(tmp_path, "v1"), stack_name)
    path = write(tmp_path, "v2")
    text = Path(path).read_text().replace("exec sleep 1000", "echo migration failed; exit 3")
    Path(path).write_text(text)
    with pytest.raises(DeployFailedError) as failed:
        deploy(path, stack_name)
    report = "\n".join(failed.value.failures)
    assert "(exit code 3)" in report
    assert "app." in report and "| migration failed" in report
    assert env_of(engine, stack_name) == ["VERSION=v1"]


def test_an_image_no_node_can_pull_fails_at_once(
    engine: Any, stack_name: str, tmp_path: Path
) -> None:
    # Nothing listens on 127.0.0.1:1: every node's task is rejected ("No
    # such image") and Swarm makes a new one, forever. Before: the timeout.
    path = tmp_path / "stack.yml"
    path.write_text(
        'version: "3.8"\nservices:\n  app:\n    image: 127.0.0.1:1/nope:v1\n'
        f"    deploy: {{replicas: 2, labels: [{LABEL}]}}\n"
    )
    started = time.monotonic()
    with pytest.raises(DeployFailedError) as failed:
        deploy(str(path), stack_name)
    assert time.monotonic() - started < 60  # the deploy's timeout is 90 s
    message = str(failed.value)
    assert f"{stack_name}_app cannot pull its image 127.0.0.1:1/nope:v1 on " in message
    assert "No such image: 127.0.0.1:1/nope:v1" in message
    assert "docker login 127.0.0.1:1" in message
    report = "\n".join(failed.value.failures)
    assert ": rejected: No such image: 127.0.0.1:1/nope:v1" in report

    # The CLI: the report, then one error line; exit 1.
    result = subprocess.run(
        [sys.executable, "-m", "swarmkit", "deploy", "-q", "-c", str(path), "--name", stack_name,
         "--resolve-image", "never", "--timeout", "90"],
        capture_output=True, text=True, check=False, timeout=180,
        env={"SWARMKIT_DOCKER": DOCKER, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{stack_name}_app: cannot pull its image 127.0.0.1:1/nope:v1 on ")
    assert all(line.startswith("  task ") for line in lines[1:-1]) and len(lines) >= 3
    assert lines[-1].startswith(f"swarmkit: error: stack {stack_name} did not converge: ")


def lingering_network_cli(directory: Path, network: str, failures: int) -> tuple[str, Path]:
    """A docker CLI whose first ``failures`` stack deploys fail as with a lingering network."""
    calls = directory / "stack-deploys"
    script = directory / "docker"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "stack deploy" ]; then\n'
        f'    echo x >> "{calls}"\n'
        f'    if [ "$(wc -l < "{calls}")" -le {failures} ]; then\n'
        "        cat > /dev/null\n"
        f'        echo "failed to create service: Error response from daemon: network {network} not found" >&2\n'
        "        exit 1\n"
        "    fi\n"
        "fi\n"
        f'exec "{DOCKER}" "$@"\n'
    )
    script.chmod(0o755)
    return str(script), calls


def test_a_lingering_network_of_the_stack_is_waited_out(
    engine: Any, stack_name: str, tmp_path: Path
) -> None:
    """After `docker stack rm` the CLI may still list the stack's network: deploy again."""
    from swarmkit.deploy import connect

    cli, calls = lingering_network_cli(tmp_path, f"{stack_name}_default", failures=2)
    rows = deploy_stack(connect(), [write(tmp_path, "v1")], stack_name, resolve_image="never",
                        timeout=90, docker_cli=cli)  # fmt: skip
    assert all(r.converged for r in rows)
    assert len(calls.read_text().splitlines()) == 3


def test_a_missing_network_of_another_stack_fails_at_once(
    engine: Any, stack_name: str, tmp_path: Path
) -> None:
    from swarmkit.deploy import connect
    from swarmkit.exceptions import DockerCLIError

    cli, calls = lingering_network_cli(tmp_path, "elsewhere_default", failures=5)
    with pytest.raises(DockerCLIError, match="network elsewhere_default not found"):
        deploy_stack(connect(), [write(tmp_path, "v1")], stack_name, resolve_image="never",
                     timeout=90, docker_cli=cli)  # fmt: skip
    assert len(calls.read_text().splitlines()) == 1
