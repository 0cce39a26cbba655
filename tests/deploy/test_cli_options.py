"""The deploy commands' options through the CLI, against a real swarm."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import deploy_stack, wait_until

pytestmark = pytest.mark.engine


def swarmkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SWARMKIT_DOCKER": "/usr/bin/docker"}
    return subprocess.run([sys.executable, "-m", "swarmkit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=180)  # fmt: skip


def services(engine: Any, stack: str) -> list[str]:
    found = engine.services.list(filters={"label": f"com.docker.stack.namespace={stack}"})
    return sorted(str(s.name) for s in found)


def test_no_wait_prune_and_progress(engine: Any, stack_name: str, tmp_path: Path) -> None:
    path = deploy_stack(stack_name, tmp_path, {"web": 1, "worker": 1})
    wait_until(lambda: swarmkit("status", stack_name).returncode == 0)

    # --no-wait: back at once, the new spec in place but not yet running.
    text = path.read_text()
    path.write_text(text.replace("echo web $$i", "echo web2 $$i"))
    started = time.monotonic()
    done = swarmkit("deploy", "-c", str(path), "--name", stack_name, "--resolve-image", "never",
                    "--no-wait")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"stack {stack_name} deployed\n"
    assert time.monotonic() - started < 30
    wait_until(lambda: swarmkit("status", stack_name).returncode == 0)

    # Without --prune a service gone from the file stays; with it, it goes.
    worker = text.index("  worker:")
    path.write_text(text[:worker] + text[text.index("\nconfigs:", worker) + 1 :])
    args = ("deploy", "-c", str(path), "--name", stack_name, "--resolve-image", "never")
    done = swarmkit(*args)
    assert done.returncode == 0, done.stderr
    assert services(engine, stack_name) == [f"{stack_name}_web", f"{stack_name}_worker"]
    # Progress: one "waiting:" line per change, the verdict last; -q: nothing.
    lines = done.stderr.splitlines()
    assert lines[-1] == f"stack {stack_name} converged"
    assert all(line.startswith("waiting: ") for line in lines[:-1])
    assert len(lines[:-1]) == len(set(lines[:-1]))
    done = swarmkit(*args, "--prune", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert services(engine, stack_name) == [f"{stack_name}_web"]


def test_logs_since_and_follow(engine: Any, stack_name: str, tmp_path: Path) -> None:
    deploy_stack(stack_name, tmp_path, {"web": 1, "worker": 1})
    wait_until(lambda: swarmkit("status", stack_name).returncode == 0)
    time.sleep(4)
    everything = swarmkit("logs", stack_name).stdout.splitlines()
    recent = swarmkit("logs", stack_name, "--since", "1s").stdout.splitlines()
    assert len(everything) > 10
    assert 0 < len(recent) < len(everything)

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen([sys.executable, "-m", "swarmkit", "logs", stack_name, "-f",
                                 "--tail", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)  # fmt: skip
    try:
        assert follower.stdout is not None
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while {"web", "worker"} - seen and time.monotonic() < deadline:
            line = follower.stdout.readline()
            seen.add(line.split(".", 1)[0])
        assert {"web", "worker"} <= seen
        follower.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = follower.communicate(timeout=20)
    finally:
        follower.kill()
    assert follower.returncode == 130
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deploy", "-c", "missing.yml", "--name", "x"), "missing.yml"),
        (("deploy", "-c", "missing.yml", "--name", "x", "--timeout", "abc"), "not a duration"),
        (("logs", "x", "--since", "soon"), "not a duration"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = swarmkit(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2  # argparse: usage line, then the error
