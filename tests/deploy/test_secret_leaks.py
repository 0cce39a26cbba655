"""Secret values never appear in output, logs, process arguments or exceptions.

``swarmkit secret`` on the real engine with values the test knows (given on
standard input and in files) and ones it learns afterwards (``--generate``:
read back from inside the task that mounts it). While each command runs,
every process's arguments and (where readable: ours and our children's)
environment are sampled from /proc; the docker CLI child that deploys is
among them. A failing deploy's exception is inspected in-process, with its
whole chain and swarmkit's and the docker SDK's logging at DEBUG.

Objects: the stack ``secrets-leak_staging``, secrets labelled
``swarmkit-test=secrets-leak``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.cli_stack import docker, remove_stack
from tests.deploy.conftest import swarm_manager

STACK = "secrets-leak_staging"
PREFIX = "secrets-leak"
LABEL = "swarmkit-test=secrets-leak"
IMAGE = "debian:bookworm-slim"

STACK_FILE = f"""\
version: "3.8"
services:
  app:
    image: {IMAGE}
    command: ["sleep", "infinity"]
    secrets: [token]
    stop_grace_period: 1s
    deploy:
      update_config: {{order: start-first, monitor: 1s}}
secrets:
  token:
    external: true
    name: {PREFIX}_token_v${{TOKEN_VERSION:-1}}
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    swarm_manager()
    remove_stack(STACK, LABEL)
    path = tmp_path_factory.mktemp("leak")
    (path / "stack.yml").write_text(STACK_FILE)
    (path / "staging.env").write_text("# the token's version\nTOKEN_VERSION=1\n")
    yield path
    remove_stack(STACK, LABEL)


class ProcSampler:
    """Samples every process's argv (and readable environment) until stopped."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                for part in ("cmdline", "environ"):
                    with contextlib.suppress(OSError):
                        self.seen.add((entry / part).read_bytes().decode("utf-8", "replace"))
            self.samples += 1
            self._stop.wait(0.02)


def swarmkit(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TOKEN_VERSION"}
    return subprocess.run([sys.executable, "-m", "swarmkit", *args], cwd=root, input=stdin,
                          capture_output=True, text=True, timeout=300, env=env,
                          check=False)  # fmt: skip


def mounted_value() -> str:
    """The token as the running task sees it."""
    container = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_app",
                        "--filter", "status=running").split()[0]  # fmt: skip
    return docker("exec", container, "cat", "/run/secrets/token")


def assert_nowhere(values: list[str], *places: str, sampler: ProcSampler) -> None:
    assert sampler.samples > 5, "the process sampler did not run"
    for value in values:
        assert len(value) >= 16
        for number, place in enumerate(places):
            assert value not in place, f"a secret value is in output {number}"
        assert not [line for line in sampler.seen if value in line], "a value is in /proc"


def test_values_never_shown(root: Path) -> None:
    known = "stdin-" + os.urandom(12).hex()
    in_file = "file-" + os.urandom(12).hex()
    (root / "token.txt").write_text(in_file)
    outputs: list[str] = []
    with ProcSampler() as sampler:
        done = swarmkit(root, "secret", "create", STACK, "token", "--label", LABEL,
                        stdin=known)  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs += [done.stdout, done.stderr]
        # A duplicate: the error names the secret, never the value.
        done = swarmkit(root, "secret", "create", STACK, "token", "--version", "1",
                        stdin=known)  # fmt: skip
        assert done.returncode == 2 and "exists already" in done.stderr
        outputs += [done.stdout, done.stderr]
        done = swarmkit(root, "deploy", "-c", "stack.yml", "--env-file", "staging.env",
                        "--name", STACK, "--resolve-image", "never")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert mounted_value() == known
        rotate = ["secret", "rotate", "-c", "stack.yml", "--env-file", "staging.env",
                  "--name", STACK, "--resolve-image", "never"]  # fmt: skip
        done = swarmkit(root, *rotate, "--file", "token.txt", "token")
        assert done.returncode == 0, done.stderr
        outputs += [done.stdout, done.stderr]
        assert mounted_value() == in_file
        done = swarmkit(root, *rotate, "--generate", "hex:24", "token")
        assert done.returncode == 0, done.stderr
        outputs += [done.stdout, done.stderr]
        generated = mounted_value()
        assert len(generated) == 48
        done = swarmkit(root, "secret", "ls", STACK, "--format", "json")
        outputs += [done.stdout, done.stderr]
    env_file = (root / "staging.env").read_text()
    assert "TOKEN_VERSION=3" in env_file
    assert_nowhere([known, in_file, generated], *outputs, env_file, sampler=sampler)


def test_failed_deploy_exception_and_logs_hold_no_value(
    root: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import docker

    from swarmkit.cli import main
    from swarmkit.deploy.rotate import rotate_secret
    from swarmkit.exceptions import DeployFailedError

    monkeypatch.chdir(root)
    monkeypatch.delenv("TOKEN_VERSION", raising=False)
    # A release whose image does not exist: the deploy cannot converge.
    (root / "broken.yml").write_text(STACK_FILE.replace(IMAGE, "secrets-leak/none:missing"))
    value = "fail-" + os.urandom(12).hex()
    (root / "value.txt").write_text(value)
    caplog.set_level(logging.DEBUG)
    before = (root / "staging.env").read_text()
    with ProcSampler() as sampler:
        client = docker.from_env()
        with pytest.raises(DeployFailedError) as caught:
            rotate_secret(client, ["broken.yml"], STACK, "token", lambda key, version: value.encode(),
                          env_file="staging.env", resolve_image="never", timeout=30)  # fmt: skip
        client.close()
        code = main(["secret", "rotate", "-c", "broken.yml", "--env-file", "staging.env",
                     "--name", STACK, "--resolve-image", "never", "--timeout", "30s",
                     "--file", "value.txt", "token"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1 and "is kept" in err
    assert "the next deploy uses version" in str(caught.value)
    assert (root / "staging.env").read_text() == before
    chain = "".join(traceback.format_exception(caught.value))
    assert "Traceback" in chain and caplog.records, "nothing to look into"
    assert_nowhere([value], str(caught.value), repr(caught.value), *caught.value.failures,
                   chain, caplog.text, out, err, sampler=sampler)  # fmt: skip
