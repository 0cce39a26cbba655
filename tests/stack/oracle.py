"""Compare swarmkit's merge and interpolation with the real ``docker stack config``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from swarmkit.exceptions import StackError
from swarmkit.stack import load_stack, render_stack
from swarmkit.stack.schema import UNIQUE_SERVICE_LISTS
from swarmkit.stack.yamlio import load_yaml
from tests.stack.docker_cli import docker_stack_config

__all__ = ["Outcome", "run_both", "write_files"]

BASE_ENV = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}


class Outcome:
    """What the CLI and swarmkit made of the same files."""

    def __init__(
        self, cli: Any, cli_error: str, ours: Any, our_error: StackError | None, rendered: str
    ) -> None:
        self.cli = cli
        self.cli_error = cli_error
        self.ours = ours
        self.our_error = our_error
        self.rendered = rendered

    def assert_refused_by_both(self) -> StackError:
        """Both refused; returns swarmkit's error for further checks."""
        assert self.cli_error, "the docker CLI accepted the file"
        assert self.our_error is not None, "swarmkit accepted what the docker CLI refuses"
        return self.our_error

    def assert_same(self) -> None:
        if self.cli_error or self.our_error:
            assert bool(self.cli_error) == bool(self.our_error), (
                f"CLI error: {self.cli_error!r}; swarmkit error: {self.our_error!r}"
            )
            return
        assert self.ours == self.cli


def normalize_cli(data: Any, working_dir: Path) -> Any:
    """Apply swarmkit's documented deviations from the CLI's printed output.

    The CLI prints a ulimit's zero ``soft`` or ``hard`` as missing, and
    ``env_file`` paths relative to the first file, so its output does not
    always load again; swarmkit writes both limits and absolute env file paths
    (docs/stack-reference.md, "Differences from docker stack config").
    Lists that must not repeat an item are merged without repeats, and a port
    written twice (short and long form) is kept once.
    """
    for service in (data or {}).get("services", {}).values():
        if "ports" in service:
            ports: list[Any] = []
            for port in service["ports"]:
                if port not in ports:
                    ports.append(port)
            service["ports"] = ports
        for key in UNIQUE_SERVICE_LISTS & set(service):
            service[key] = list(dict.fromkeys(service[key]))
        if isinstance(service.get("build"), dict):
            for key in ("cache_from", "extra_hosts"):
                if key in service["build"]:
                    service["build"][key] = list(dict.fromkeys(service["build"][key]))
        if "env_file" in service:
            service["env_file"] = [
                os.path.normpath(os.path.join(working_dir, name)) for name in service["env_file"]
            ]
        for name, limit in (service.get("ulimits") or {}).items():
            if isinstance(limit, dict):
                service["ulimits"][name] = {
                    "soft": limit.get("soft", 0),
                    "hard": limit.get("hard", 0),
                }
    return data


def write_files(root: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def run_both(paths: list[Path], env: dict[str, str] | None = None) -> Outcome:
    environ = {**BASE_ENV, **(env or {})}
    result = docker_stack_config(paths, environ)
    cli: Any = None
    cli_error = ""
    if result.returncode == 0:
        cli = normalize_cli(
            load_yaml(result.stdout, "<docker stack config>")[0], paths[0].resolve().parent
        )
    else:
        cli_error = result.stderr.strip() or f"exit {result.returncode}"
    ours: Any = None
    our_error: StackError | None = None
    rendered = ""
    try:
        stack = load_stack(*paths, environ=environ)
        rendered = render_stack(stack)
        ours = stack.to_data()
    except StackError as exc:
        our_error = exc
    return Outcome(cli, cli_error, ours, our_error, rendered)
