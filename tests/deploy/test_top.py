"""``swarmkit top`` against a real swarm: a task that burns CPU and one that holds memory.

The stack ``top-<hex>`` (label ``swarmkit-test=top``; every such stack is
removed before and after) has ``burn``, a shell loop limited to 0.5 CPUs, and
``mem``, python holding 64 MiB under a 128M limit. Tolerances, and why:

- CPU of ``burn``: at most 60% (the limit is a CFS quota: a window of about
  a second can exceed 50% by a few points), and within 20 points of an
  independent figure, its CPU counter over the wall clock across the
  measurements. When the machine left it at least 35% (it is shared: the
  quota is a ceiling, not a guarantee), 50% +- 20 points as well.
- Memory of ``mem``: 64 MiB +- 16 MiB (the interpreter adds about 3 MiB).
- ``mem``'s CPU is under 5%: it sleeps.

Under ``CI=true`` a missing engine (or sshd) fails. Takes about 35 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmkit.deploy import ServiceUsage, node_engines, stack_top
from tests.deploy.conftest import swarm_manager

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.engine

PREFIX = "top-"
LABEL = "swarmkit-test=top"
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
MIB = 1 << 20

STACK = f"""\
version: "3.8"
services:
  burn:
    image: debian:bookworm-slim
    command: ["sh", "-c", "while :; do :; done"]
    stop_grace_period: 1s
    labels: [{LABEL}]
    deploy:
      labels: [{LABEL}]
      resources:
        limits: {{cpus: "0.5"}}
        reservations: {{cpus: "0.1"}}
  mem:
    image: python:3.12-slim-bookworm
    # bytes * n writes every page: resident, unlike an untouched bytearray.
    command: ["python3", "-c", "import time; b = b'x' * (64 << 20); time.sleep(1e9)"]
    stop_grace_period: 1s
    labels: [{LABEL}]
    deploy:
      labels: [{LABEL}]
      resources:
        limits: {{memory: 128M}}
        reservations: {{memory: 32M}}
"""


def _cleanup(client: Any) -> None:
    stacks = {
        s.attrs["Spec"]["Labels"].get("com.docker.stack.namespace", "")
        for s in client.services.list(filters={"label": LABEL})
    }
    for stack in sorted(s for s in stacks if s.startswith(PREFIX)):
        subprocess.run(
            [DOCKER, "stack", "rm", stack], check=False, capture_output=True, timeout=120
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not client.api.containers(all=True, filters={"label": LABEL}):
            break
        time.sleep(0.5)
    for network in client.networks.list(filters={"label": "com.docker.stack.namespace"}):
        if str(network.name).startswith(PREFIX):
            with contextlib.suppress(docker.errors.APIError):  # stack rm got there first
                network.remove()


@pytest.fixture(scope="module")
def swarm() -> Iterator[Any]:
    client = swarm_manager()
    _cleanup(client)
    yield client
    _cleanup(client)
    client.close()


def _by_name(rows: list[ServiceUsage]) -> dict[str, ServiceUsage]:
    return {row.short_name: row for row in rows}


@pytest.fixture(scope="module")
def stack(swarm: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    name = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    path = tmp_path_factory.mktemp("top") / "stack.yml"
    path.write_text(STACK)
    subprocess.run(
        [DOCKER, "stack", "deploy", "--resolve-image", "never", "-c", str(path), name],
        check=True,
        capture_output=True,
        timeout=120,
    )
    deadline = time.monotonic() + 90
    with node_engines(swarm) as engines:
        while True:
            rows = _by_name(stack_top(swarm, name, engines))
            ready = all(len(r.measured) == 1 for r in rows.values()) and len(rows) == 2
            if ready and (rows["mem"].memory_bytes or 0) > 60 * MIB:
                return name
            assert time.monotonic() < deadline, f"the stack did not start: {rows}"
            time.sleep(1)


def _cpu_counter(client: Any, service: str) -> int:
    [container] = client.api.containers(
        filters={"label": f"com.docker.swarm.service.name={service}"}
    )
    stats = client.api.stats(container["Id"], stream=False, one_shot=True)
    return int(stats["cpu_stats"]["cpu_usage"]["total_usage"])


def test_cpu_and_memory_move_as_the_tasks_do(swarm: Any, stack: str) -> None:
    burn_name = f"{stack}_burn"
    counter, started = _cpu_counter(swarm, burn_name), time.monotonic_ns()
    with node_engines(swarm) as engines:
        samples = [_by_name(stack_top(swarm, stack, engines)) for _ in range(3)]
    # The independent figure: CPU nanoseconds used per wall nanosecond.
    used = (_cpu_counter(swarm, burn_name) - counter) / (time.monotonic_ns() - started) * 100
    burn = statistics.median(s["burn"].cpu_percent or 0.0 for s in samples)
    assert burn <= 60, samples
    assert abs(burn - used) <= 20, (burn, used)
    if used >= 35:
        assert 30 <= burn <= 70, (burn, used)
    for sample in samples:
        assert (sample["mem"].cpu_percent or 0.0) < 5
        assert 48 * MIB <= (sample["mem"].memory_bytes or 0) <= 80 * MIB, sample["mem"]
        # The container's own limit is the spec's.
        assert sample["mem"].tasks[0].memory_limit == 128 * MIB
    last = samples[-1]
    assert (last["burn"].resources.cpu_limit, last["burn"].resources.cpu_reservation) == (0.5, 0.1)
    assert last["mem"].resources.memory_limit == 128 * MIB
    assert last["mem"].resources.memory_reservation == 32 * MIB
    assert last["burn"].tasks[0].node == swarm.info()["Name"]


def swarmkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarmkit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_table_and_json(stack: str) -> None:
    table = swarmkit("top", stack)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["SERVICE", "/", "TASK"]
    burn = next(line for line in lines if line.startswith(f"{stack}_burn"))
    assert burn.split()[2:4] == ["50%", "10%"]  # CPU limit and reservation
    mem = next(line for line in lines if line.startswith(f"{stack}_mem"))
    assert mem.split()[-2:] == ["128.0MiB", "32.0MiB"]
    assert any(line.startswith("  burn.1 ") for line in lines)
    out = swarmkit("top", stack, "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows[f"{stack}_mem"]["resources"]["limits"]["memory_bytes"] == 128 * MIB
    assert 48 * MIB <= rows[f"{stack}_mem"]["memory_bytes"] <= 80 * MIB
    assert rows[f"{stack}_burn"]["tasks_measured"] == 1


def test_watch_redraws_until_ctrl_c_and_exits_0(stack: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "swarmkit", "top", stack, "--watch", "-n", "1s", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    frames: list[Any] = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 40
        while len(frames) < 3 and selector.select(timeout=max(0.0, deadline - time.monotonic())):
            frames.append(json.loads(process.stdout.readline()))
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert len(frames) == 3, err
    assert all({row["name"] for row in f} == {f"{stack}_burn", f"{stack}_mem"} for f in frames)
    assert process.returncode == 0, err
    assert err == ""
    assert time.monotonic() - started < 10


def test_a_node_engine_that_does_not_answer_leaves_its_tasks_unmeasured(
    swarm: Any, stack: str
) -> None:
    hostname = swarm.info()["Name"]
    out = swarmkit("top", stack, "--node-host", f"{hostname}=unix:///nonexistent/docker.sock")
    assert out.returncode == 0, out.stderr
    burn = next(line for line in out.stdout.splitlines() if line.startswith("  burn.1 "))
    assert burn.split()[2] == "?"
    assert "cannot measure on unix:///nonexistent/docker.sock" in burn
    assert "0 of 1 tasks measured" in out.stdout


def test_a_node_named_with_its_own_engine_is_measured_by_it(swarm: Any, stack: str) -> None:
    # The same engine by another way in: checked to be the node it is named for.
    hostname = swarm.info()["Name"]
    with node_engines(swarm, {hostname: "unix:///var/run/docker.sock"}) as engines:
        node_id = swarm.info()["Swarm"]["NodeID"]
        assert engines.clients[node_id] is not swarm
        rows = _by_name(stack_top(swarm, stack, engines))
    assert len(rows["mem"].measured) == 1


def test_bad_input_exits_2(stack: str) -> None:
    unknown = swarmkit("top", f"{PREFIX}nosuchstack")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("swarmkit: error: no stack named")
    node = swarmkit("top", stack, "--node-host", "nosuchnode=unix:///x.sock")
    assert node.returncode == 2
    assert node.stderr == (
        "swarmkit: error: --node-host: no node named 'nosuchnode' in this swarm"
        " (docker node ls lists them)\n"
    )


@pytest.fixture(scope="module")
def sshd(swarm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.deploy.sshd import missing, private_sshd

    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with private_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def test_over_ssh_a_node_host_is_one_more_login_and_nothing_stays(
    swarm: Any, stack: str, sshd: Any
) -> None:
    # DOCKER_HOST over ssh, and the (same) node named with an ssh:// --node-host:
    # two logins, each a tunnel that ends with the command.
    hostname = swarm.info()["Name"]
    env = {**os.environ, **sshd.client_env("top"), "TMPDIR": tempfile.mkdtemp(prefix="sk-top-")}
    command = ["top", stack, "--format", "json", "--node-host", f"{hostname}={sshd.docker_host}"]
    before = sshd.logins()
    out = subprocess.run(
        [sys.executable, "-m", "swarmkit", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows[f"{stack}_mem"]["tasks_measured"] == 1
    assert sshd.logins() - before == 2
    # Each tunnel removed its private directory: TMPDIR is empty again.
    assert os.listdir(env["TMPDIR"]) == []
    os.rmdir(env["TMPDIR"])


def test_watch_on_a_terminal_redraws_in_place(stack: str) -> None:
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "swarmkit", "top", stack, "--watch", "-n", "1s"],
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 40
    with selectors.DefaultSelector() as selector:
        selector.register(leader, selectors.EVENT_READ)
        while seen.count(b"\x1b[H\x1b[2J") < 2 and time.monotonic() < deadline:
            if selector.select(timeout=1):
                seen += os.read(leader, 65536)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    os.close(leader)
    # Each frame starts with cursor-home and clear-screen, then the table.
    frames = seen.split(b"\x1b[H\x1b[2J")[1:]
    assert len(frames) >= 2, seen
    assert frames[0].startswith(b"SERVICE / TASK"), frames[0]
    assert process.returncode == 0, err
