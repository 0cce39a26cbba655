"""``swarmkit rm STACK --volumes``: nothing of the stack is left, on a real swarm.

A stack with a file-based config and secret and a named volume that its
task writes to; ``docker stack rm`` alone leaves the volume (and returns
before the tasks are gone); :func:`remove_stack` leaves nothing. Under
``CI=true`` a missing engine fails (see conftest).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.deploy.conftest import IMAGE, LABEL, _docker, _docker_stdin, wait_until

STACK = """\
version: "3.8"
services:
  web:
    image: {image}
    command: ["sh", "-c", "date > /data/started; sleep 3600"]
    stop_grace_period: 1s
    volumes: [data:/data]
    configs: [{{source: conf, target: /app.conf}}]
    secrets: [token]
    deploy:
      labels: [{label}]
volumes:
  data: {{}}
configs:
  conf:
    file: ./app.conf
    labels: [{label}]
secrets:
  token:
    file: ./token
    labels: [{label}]
"""


def _deploy(stack: str, directory: Path) -> None:
    from swarmkit.stack import hash_names, load_stack, render_stack

    (directory / "app.conf").write_text("a")
    (directory / "token").write_text("t0ken")
    path = directory / "stack.yml"
    path.write_text(STACK.format(image=IMAGE, label=LABEL))
    rendered = render_stack(hash_names(load_stack(str(path)), stack))
    _docker_stdin(rendered, "stack", "deploy", "--resolve-image", "never", "-c", "-", stack)


def _objects(stack: str) -> dict[str, list[str]]:
    namespace = f"label=com.docker.stack.namespace={stack}"
    out = {
        kind: _docker(kind, "ls", "-q", "--filter", namespace).stdout.split()
        for kind in ("service", "config", "secret", "network")
    }
    out["container"] = _docker("ps", "-aq", "--filter", namespace).stdout.split()
    out["volume"] = [
        v for v in _docker("volume", "ls", "-q").stdout.split() if v.startswith(f"{stack}_")
    ]
    return out


def _swarmkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "swarmkit", *args], capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


def test_rm_with_volumes_leaves_nothing(engine: Any, stack_name: str, tmp_path: Path) -> None:
    _deploy(stack_name, tmp_path)
    # The task has run: its volume exists and holds a file.
    wait_until(lambda: bool(_objects(stack_name)["volume"]) and bool(
        _docker("ps", "-q", "--filter", f"label=com.docker.stack.namespace={stack_name}",
                "--filter", "status=running").stdout.split()))  # fmt: skip
    done = _swarmkit("rm", stack_name, "--volumes")
    assert done.returncode == 0, done.stderr
    assert f"removed service {stack_name}_web" in done.stdout
    assert f"removed volume {stack_name}_data" in done.stdout
    assert _objects(stack_name) == {k: [] for k in _objects(stack_name)}


def test_rm_without_volumes_keeps_them(engine: Any, stack_name: str, tmp_path: Path) -> None:
    from swarmkit.deploy import remove_stack

    _deploy(stack_name, tmp_path)
    wait_until(lambda: bool(_objects(stack_name)["volume"]))
    removal = remove_stack(engine, stack_name)
    assert removal.services == [f"{stack_name}_web"] and removal.volumes == []
    left = _objects(stack_name)
    assert left["volume"] == [f"{stack_name}_data"]
    assert not (left["service"] or left["config"] or left["secret"] or left["container"])
    # A second `rm --volumes` finds what is left and removes it.
    assert remove_stack(engine, stack_name, volumes=True).volumes == [f"{stack_name}_data"]
    assert _objects(stack_name)["volume"] == []


def test_rm_of_unknown_stack_is_one_line(engine: Any, stack_name: str) -> None:
    done = _swarmkit("rm", stack_name, "--volumes")
    assert done.returncode == 2
    assert done.stderr == f"swarmkit: error: no stack named {stack_name!r} on this swarm\n"


def test_rm_survives_a_container_gone_between_list_and_inspect(
    engine: Any, stack_name: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """A task container the engine removes while the wait lists them is no error.

    The fresh-clone CI's review stop job met it: the collection's list
    inspects each container it lists, and one gone in between raised
    NotFound out of ``swarmkit rm``. Every inspect here answers NotFound, as
    it would for a container removed right after the listing.
    """
    import docker.errors

    from swarmkit.deploy import remove_stack

    _deploy(stack_name, tmp_path)
    wait_until(lambda: bool(_objects(stack_name)["container"]))

    def gone(container: Any, *args: Any, **kwargs: Any) -> Any:
        raise docker.errors.NotFound(f"No such container: {container}")

    monkeypatch.setattr(engine.api, "inspect_container", gone)
    removal = remove_stack(engine, stack_name, volumes=True)
    assert removal.services == [f"{stack_name}_web"]
    assert _objects(stack_name) == {k: [] for k in _objects(stack_name)}
