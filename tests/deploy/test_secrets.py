"""``swarmkit secret``: create, ls and rotate on a real swarm; values never shown.

What the tests create is named ``sktest-secret-*`` and labelled
``swarmkit-test=secret`` (not the deploy suite's label: its clean-up must not
remove ours, nor ours its).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmkit.deploy.rotate import set_env_variable, version_variables
from swarmkit.deploy.secrets import generate_value, split_version
from swarmkit.exceptions import DeployError
from tests.deploy.cli_stack import docker, remove_stack
from tests.deploy.conftest import swarm_manager, wait_until

STACK = "sktest-secret_staging"
PREFIX = "sktest-secret"
LABEL = "swarmkit-test=secret"

STACK_FILE = """\
version: "3.8"
services:
  app:
    image: debian:bookworm-slim
    command: ["sleep", "infinity"]
    labels: {swarmkit-test: secret}
    secrets: [token, tls_cert, tls_key]
    stop_grace_period: 1s
    deploy:
      labels: {swarmkit-test: secret}
      update_config: {order: start-first, monitor: 1s}
secrets:
  token:
    external: true
    # A variable in the base too, as a review app's SECRETS_PREFIX: the
    # rotation names the versions as the deploy interpolates them.
    name: ${TOKEN_PREFIX:-sktest-secret}_token_v${TOKEN_VERSION:-1}
  tls_cert:
    external: true
    name: sktest-secret_tls_cert_v${TLS_VERSION:-1}
  tls_key:
    external: true
    name: sktest-secret_tls_key_v${TLS_VERSION:-1}
"""

PREVIOUS_FILE = """\
version: "3.8"
services:
  app:
    secrets: [token_previous]
secrets:
  token_previous:
    external: true
    name: sktest-secret_token_v${TOKEN_PREVIOUS_VERSION:?set it}
"""

ENV_FILE = "# versions\nTOKEN_VERSION=1\n\n# the pair\nTLS_VERSION=1\n"


def test_generators() -> None:
    assert len(generate_value("hex:32")) == 64
    assert len(generate_value("base64:48")) == 64
    password = generate_value("password")
    assert len(password) == 32 and password.isalnum()
    assert generate_value("hex:32") != generate_value("hex:32")
    with pytest.raises(DeployError, match="not a generator"):
        generate_value("hex:2")


def test_generator_templates() -> None:
    uri = generate_value("postgresql://shop_v{version}:{password}@db:5432/shop", 7).decode()
    assert re.fullmatch(r"postgresql://shop_v7:[A-Za-z0-9]{32}@db:5432/shop", uri)
    assert generate_value("{password}") != generate_value("{password}")
    for spec, needle in [
        ("shop_v{version}", "not a template"),  # no password
        ("{password}{", "not a template"),
        ("{password}" + "x" * 1100, "not a template"),
        ("{password}{__class__}", "unknown placeholder {__class__}"),
        ("{password}{0}", "unknown placeholder {0}"),
    ]:
        with pytest.raises(DeployError, match=re.escape(needle)):
            generate_value(spec, 1)
    with pytest.raises(DeployError, match="needs the version"):
        generate_value("v{version}:{password}")


def test_split_version() -> None:
    assert split_version("shop_secret_key_v12") == ("shop_secret_key", 12)
    assert split_version("shop_secret_key") is None


def test_set_env_variable_keeps_comments_and_order(tmp_path: Path) -> None:
    env = tmp_path / "x.env"
    env.write_bytes(b"# head\nA=1\r\nB=2 # not a comment\nA=3\n# tail")
    before = set_env_variable(str(env), "A", "4")
    assert before.endswith("# tail")
    assert env.read_bytes() == b"# head\nA=1\r\nB=2 # not a comment\nA=4\n# tail"
    set_env_variable(str(env), "C", "1")
    assert env.read_text().endswith("# tail\nC=1\n")


def test_version_variables(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text(STACK_FILE)
    assert version_variables([str(stack)]) == {
        "token": ("${TOKEN_PREFIX:-sktest-secret}_token", "TOKEN_VERSION", "1"),
        "tls_cert": ("sktest-secret_tls_cert", "TLS_VERSION", "1"),
        "tls_key": ("sktest-secret_tls_key", "TLS_VERSION", "1"),
    }


# -- on the engine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    swarm_manager()
    remove_stack(STACK, LABEL)
    root = tmp_path_factory.mktemp("secret")
    (root / "stack.yml").write_text(STACK_FILE)
    (root / "staging.env").write_text(ENV_FILE)
    yield root
    remove_stack(STACK, LABEL)


def swarmkit(*args: str, stdin: str | None = None, cwd: Path | None = None,
             snapshots: list[str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "swarmkit", *args], cwd=cwd,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    if snapshots is not None:
        # Every process's arguments while the command runs.
        with contextlib.suppress(OSError):
            for entry in Path("/proc").iterdir():
                with contextlib.suppress(OSError):
                    snapshots.append((entry / "cmdline").read_bytes().decode("utf-8", "replace"))
    out, err = process.communicate(stdin, timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_create_ls_rotate(stack: Path) -> None:
    seen: list[str] = []
    values = {"token": "tok-" + os.urandom(8).hex(), "tls_cert": "cert-" + os.urandom(8).hex(),
              "tls_key": "key-" + os.urandom(8).hex()}  # fmt: skip
    for name, value in values.items():
        done = swarmkit("secret", "create", STACK, name, "--label", LABEL, stdin=value,
                        snapshots=seen)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"{PREFIX}_{name}_v1\n"
    done = swarmkit("deploy", "-c", "stack.yml", "--env-file", "staging.env", "--name", STACK,
                    "--resolve-image", "never", cwd=stack)  # fmt: skip
    assert done.returncode == 0, done.stderr

    done = swarmkit("secret", "ls", STACK, "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert set(rows) == {f"{PREFIX}_{n}_v1" for n in values}
    assert rows[f"{PREFIX}_token_v1"]["used_by"] == [{"service": f"{STACK}_app", "target": "token"}]

    # A later version of token, created by hand and not used yet.
    done = swarmkit("secret", "create", STACK, "token", "--generate", "hex:32", "--label", LABEL)
    assert done.stdout == f"{PREFIX}_token_v2\n"
    table = swarmkit("secret", "ls", STACK).stdout
    assert f"{PREFIX}_token_v2" in table and "unused" in table

    # The pair rotates together, with a value file each.
    (stack / "cert.pem").write_text("new-cert-" + os.urandom(8).hex())
    (stack / "key.pem").write_text("new-key-" + os.urandom(8).hex())
    done = swarmkit("secret", "rotate", "-c", "stack.yml", "--env-file", "staging.env",
                    "--name", STACK, "--file", "tls_cert=cert.pem", "--file", "tls_key=key.pem",
                    "tls_key", cwd=stack, snapshots=seen)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (stack / "staging.env").read_text() == ENV_FILE.replace("TLS_VERSION=1", "TLS_VERSION=2")
    names = docker("secret", "ls", "--format", "{{.Name}}").split()
    assert f"{PREFIX}_tls_cert_v2" in names and f"{PREFIX}_tls_key_v2" in names
    assert f"{PREFIX}_tls_cert_v1" not in names and f"{PREFIX}_tls_key_v1" not in names
    assert "removed secret sktest-secret_tls_key_v1" in done.stderr

    # token: v2 exists already, so the rotation makes v3; --keep-old keeps v1.
    done = swarmkit("secret", "rotate", "-c", "stack.yml", "--env-file", "staging.env",
                    "--name", STACK, "--generate", "password", "--keep-old", "token",
                    cwd=stack)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "TOKEN_VERSION=3" in (stack / "staging.env").read_text()
    assert f"{PREFIX}_token_v1" in docker("secret", "ls", "--format", "{{.Name}}").split()

    # --previous: the old version stays mounted under another name, so it is kept.
    (stack / "previous.yml").write_text(PREVIOUS_FILE)
    done = swarmkit("secret", "rotate", "-c", "stack.yml", "-c", "previous.yml",
                    "--env-file", "staging.env", "--name", STACK, "--generate", "hex:32",
                    "--previous", "TOKEN_PREVIOUS_VERSION", "token", cwd=stack)  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = (stack / "staging.env").read_text()
    assert "TOKEN_VERSION=4\n" in env and env.endswith("TOKEN_PREVIOUS_VERSION=3\n")
    assert "kept secret sktest-secret_token_v3 (a service still uses it)" in done.stderr
    rows = {row["name"]: row for row in json.loads(swarmkit("secret", "ls", STACK,
                                                            "--format", "json").stdout)}  # fmt: skip
    assert rows[f"{PREFIX}_token_v3"]["used_by"] == [
        {"service": f"{STACK}_app", "target": "token_previous"}
    ]

    # --retire-previous, with a template: v5 in use, then a deploy without
    # previous.yml, so v4 is mounted nowhere and goes (v3, the older fallback, too).
    done = swarmkit("secret", "rotate", "-c", "stack.yml", "-c", "previous.yml",
                    "--env-file", "staging.env", "--name", STACK,
                    "--generate", "tok-v{version}-{password}", "--previous",
                    "TOKEN_PREVIOUS_VERSION", "--retire-previous", "token", cwd=stack)  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = (stack / "staging.env").read_text()
    assert "TOKEN_VERSION=5\n" in env and env.endswith("TOKEN_PREVIOUS_VERSION=\n")
    assert "TOKEN_PREVIOUS_VERSION= in staging.env: deploying without version 4" in done.stderr
    names = docker("secret", "ls", "--format", "{{.Name}}").split()
    assert f"{PREFIX}_token_v5" in names
    assert f"{PREFIX}_token_v4" not in names and f"{PREFIX}_token_v3" not in names
    mounted = json.loads(docker("service", "inspect", f"{STACK}_app", "--format",
                                "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}"))  # fmt: skip
    assert sorted(m["SecretName"] for m in mounted) == [
        f"{PREFIX}_tls_cert_v2",
        f"{PREFIX}_tls_key_v2",
        f"{PREFIX}_token_v5",
    ]

    # The task that replaced the last one, once that one (killed after its 1 s
    # grace period) is gone.
    def running() -> list[str]:
        return docker("ps", "-q", "--filter", "status=running", "--filter",
                      f"label=com.docker.swarm.service.name={STACK}_app").split()  # fmt: skip

    wait_until(lambda: len(running()) == 1, 30)
    token = docker("exec", running()[0], "cat", "/run/secrets/token")
    assert re.fullmatch(r"tok-v5-[A-Za-z0-9]{32}", token), "not the template's value"
    # Without the file that names the variable, there is nothing to retire.
    done = swarmkit("secret", "rotate", "-c", "stack.yml", "--env-file", "staging.env",
                    "--name", STACK, "--generate", "hex:16", "--previous",
                    "TOKEN_PREVIOUS_VERSION", "--retire-previous", "token", cwd=stack)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "swarmkit: error: no stack file names a secret with TOKEN_PREVIOUS_VERSION (add the "
        "overlay that mounts the previous version (-c FILE))\n"
    )

    # A deploy that fails (the image does not exist): v5 stays in use, v6 kept.
    (stack / "stack.yml").write_text(
        STACK_FILE.replace("debian:bookworm-slim", "sktest-secret/none:missing")
    )
    done = swarmkit("secret", "rotate", "-c", "stack.yml", "-c", "previous.yml",
                    "--env-file", "staging.env", "--name", STACK, "--generate", "hex:16",
                    "--previous", "TOKEN_PREVIOUS_VERSION", "--timeout", "60s", "token",
                    cwd=stack)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "says TOKEN_VERSION=5 again: the next deploy uses version 5" in done.stderr
    assert "version 6 is kept" in done.stderr
    assert (stack / "staging.env").read_text() == env
    assert f"{PREFIX}_token_v6" in docker("secret", "ls", "--format", "{{.Name}}").split()

    secret_values = [*values.values(), (stack / "cert.pem").read_text(),
                     (stack / "key.pem").read_text()]  # fmt: skip
    assert not [v for v in secret_values for line in seen if v in line]


def test_bad_input_is_one_line(stack: Path) -> None:
    done = swarmkit("secret", "rotate", "-c", "stack.yml", "--env-file", "staging.env",
                    "--name", STACK, "nope", cwd=stack)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("swarmkit: error: ") and done.stderr.count("\n") == 1
    done = swarmkit("secret", "create", STACK, "token", "--generate", "hex:1")
    assert done.returncode == 2 and "not a generator" in done.stderr


def test_failure_message_holds_no_value(stack: Path) -> None:
    value: Any = "dup-" + os.urandom(8).hex()
    done = swarmkit("secret", "create", STACK, "dup", "--version", "1", "--label", LABEL,
                    stdin=value)  # fmt: skip
    assert done.returncode == 0
    done = swarmkit("secret", "create", STACK, "dup", "--version", "1", stdin=value)
    assert done.returncode == 2 and "exists already" in done.stderr
    assert value not in done.stderr + done.stdout


def test_a_failed_rollback_stays_a_rollback_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI exits 3 for RollbackFailedError: the rotation must not turn it
    # into a plain DeployFailedError (exit 1), which would say the old release runs.
    from swarmkit.deploy import rotate
    from swarmkit.exceptions import RollbackFailedError

    def deploy(*args: object, **kwargs: object) -> None:
        assert kwargs["resolve_image"] == "never"
        raise RollbackFailedError("app: rollback paused", failures=("app: report",))

    monkeypatch.setattr(rotate, "deploy_stack", deploy)
    monkeypatch.setattr(rotate, "list_versions", lambda client, bases: [])
    monkeypatch.setattr(rotate, "create_secret", lambda client, name, value, labels: name)
    (tmp_path / "stack.yml").write_text(STACK_FILE)
    (tmp_path / "staging.env").write_text(ENV_FILE)
    with pytest.raises(RollbackFailedError, match="the next deploy uses version 1") as caught:
        rotate.rotate_secret(
            None, [str(tmp_path / "stack.yml")], STACK, "token", lambda key, version: b"x" * 16,  # type: ignore[arg-type]
            env_file=str(tmp_path / "staging.env"), resolve_image="never",
        )  # fmt: skip
    assert caught.value.failures == ("app: report",)
    assert (tmp_path / "staging.env").read_text() == ENV_FILE
