"""status, gc and logs against a real swarm."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from swarmkit.deploy import (
    STACK_LABEL,
    connect,
    format_line,
    format_status,
    gc_stack,
    stack_logs,
    stack_status,
)
from swarmkit.exceptions import StackNotFoundError
from tests.deploy.conftest import deploy_stack, wait_until

pytestmark = pytest.mark.engine


def _converged(client: Any, stack: str) -> bool:
    return all(row.converged for row in stack_status(client, stack))


@pytest.fixture(scope="module")
def running_stack(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    import uuid

    from tests.deploy.conftest import PREFIX

    stack = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    deploy_stack(stack, tmp_path_factory.mktemp("stack"), {"web": 2, "worker": 1})
    wait_until(lambda: _converged(engine, stack))
    return stack


def swarmkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarmkit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_status_rows(engine: Any, running_stack: str) -> None:
    rows = stack_status(engine, running_stack)
    assert [r.name for r in rows] == [f"{running_stack}_web", f"{running_stack}_worker"]
    web = rows[0]
    assert (web.image, web.mode, web.running, web.desired, web.healthy) == (
        "debian:bookworm-slim",
        "replicated",
        2,
        2,
        2,
    )
    assert web.converged
    # One node here: both of web's tasks run on it.
    hostname = engine.info()["Name"]
    assert web.nodes == (hostname, hostname)
    table = format_status(rows).splitlines()
    assert table[0].split() == ["SERVICE", "IMAGE", "REPLICAS", "HEALTHY", "UPDATE", "NODES"]
    assert table[1].split()[:4] == [f"{running_stack}_web", "debian:bookworm-slim", "2/2", "2/2"]
    assert table[1].split()[-1] == f"{hostname}x2"


def test_status_cli(running_stack: str) -> None:
    result = swarmkit("status", running_stack)
    assert result.returncode == 0, result.stderr
    assert f"{running_stack}_worker" in result.stdout


def test_unknown_stack(engine: Any) -> None:
    with pytest.raises(StackNotFoundError):
        stack_status(connect(), "sktest-deploy-nosuchstack")
    for command in ("status", "logs", "gc"):
        result = swarmkit(command, "sktest-deploy-nosuchstack")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert "no stack named 'sktest-deploy-nosuchstack'" in result.stderr


def test_no_engine() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "swarmkit", "status", "x"],
        capture_output=True,
        check=False,
        text=True,
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("swarmkit: error: cannot reach a Docker Engine at unix://")
    assert result.stderr.count("\n") == 1


def test_logs_merged_in_time_order(engine: Any, running_stack: str) -> None:
    wait_until(lambda: len(stack_logs(engine, running_stack)) > 10)
    lines = stack_logs(engine, running_stack)
    assert [line.timestamp for line in lines] == sorted(line.timestamp for line in lines)
    tasks = {(line.service, line.task) for line in lines}
    assert {("web", "1"), ("web", "2"), ("worker", "1")} <= tasks
    for line in lines:
        assert line.message.startswith(line.service + " ")
    assert format_line(lines[0]).startswith(f"{lines[0].service}.{lines[0].task} | ")

    only = stack_logs(engine, running_stack, service="worker", tail=3)
    assert {line.service for line in only} == {"worker"}
    assert len(only) == 3

    result = swarmkit("logs", running_stack, "--service", "web", "--tail", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == 2  # the last two lines of the service, whichever task wrote them
    assert all(line.startswith(("web.1 | web ", "web.2 | web ")) for line in out)


def test_gc_keeps_used_and_newest(engine: Any, running_stack: str) -> None:
    labels = {STACK_LABEL: running_stack, "swarmkit-test": "deploy"}
    made = []
    for i in range(3):
        name = f"{running_stack}_conf_{i:012x}"
        made.append(name)
        engine.configs.create(name=name, data=f"old {i}".encode(), labels=labels)
    engine.configs.create(name=f"{running_stack}_plain", data=b"x", labels=labels)
    engine.secrets.create(name=f"{running_stack}_key_{'a' * 12}", data=b"s", labels=labels)
    used = {
        c.name for c in engine.configs.list(filters={"label": f"{STACK_LABEL}={running_stack}"})
    }
    used -= {*made, f"{running_stack}_plain"}
    assert len(used) == 1  # the hashed config the services use

    dry = gc_stack(engine, running_stack, keep=1, dry_run=True)
    assert [(r.kind, r.name) for r in dry] == [("config", made[0]), ("config", made[1])]

    result = swarmkit("gc", running_stack, "--keep", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"removed config {made[0]}", f"removed config {made[1]}"]
    left = {
        c.name for c in engine.configs.list(filters={"label": f"{STACK_LABEL}={running_stack}"})
    }
    assert left == used | {made[2], f"{running_stack}_plain"}

    removed = gc_stack(engine, running_stack)
    assert [(r.kind, r.name) for r in removed] == [
        ("config", made[2]),
        ("secret", f"{running_stack}_key_{'a' * 12}"),
    ]
    assert _converged(engine, running_stack)


def test_deploy_without_docker_sdk_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['docker'] = None\n"
        "try:\n    import swarmkit.deploy\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    ).stdout
    assert "pip install 'swarm-django[deploy]'" in out


def test_import_swarmkit_does_not_import_docker() -> None:
    code = "import sys, swarmkit, swarmkit.cli; assert 'docker' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
