"""What the compose suite drives: a baked project's docker-compose.yml, as its README says.

The commands come from the generated README's "Run it locally" section and
run as written, with one substitution: ``docker compose`` (Compose v2, not
installable from this machine's registries) becomes Debian's ``docker-compose``
1.29. The official base images are the machine's stand-ins; where a stand-in
differs from the official image in a way the project notices, the suite puts
a ``docker-compose.override.yml`` next to the project's file (Compose reads
it by itself, so the commands stay verbatim) that names an image derived
from the stand-in here (see ``STANDINS``).

Every Compose project the suite starts is named ``compose-<...>``
(``COMPOSE_PROJECT_NAME``), every image it builds ``compose_<...>`` or
``compose-standin/...``; :func:`cleanup` removes exactly those.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.django.servers import free_port, http
from tests.template.helpers import clean_env, output, unavailable
from tests.template.servers import DOCKER, docker

__all__ = [
    "PREFIX",
    "STANDINS",
    "Compose",
    "cleanup",
    "compose_binary",
    "readme_commands",
    "standin_override",
]

PREFIX = "compose-"  # of every Compose project (hence container, network, volume) of the suite
PROJECT_LABEL = "com.docker.compose.project"
STANDIN_LABEL = "swarmkit-test=compose-standin"

# image the project names -> (image derived here, its Dockerfile). The
# machine's postgres stand-in runs initdb without a locale, so its databases
# are SQL_ASCII and psycopg hands the project's tests bytes; the official
# image sets LANG=en_US.utf8 (UTF8 databases), as this one does with C.UTF-8.
# No redis 7.4 is built here: Debian's 7.0 stands in for it.
STANDINS: dict[str, tuple[str, str]] = {
    "postgres:15-bookworm": (
        "compose-standin/postgres:15-bookworm",
        "FROM postgres:15-bookworm\nENV LANG=C.UTF-8\n",
    ),
    "redis:7.4-bookworm": ("compose-standin/redis:7.4-bookworm", "FROM redis:7.0-bookworm\n"),
}


def compose_binary() -> str:
    """Debian's docker-compose 1.29, the stand-in for ``docker compose``."""
    found = shutil.which("docker-compose")
    if found is None:
        unavailable("docker-compose is not installed (apt-get install docker-compose)")
    return found


def readme_commands(project: Path) -> list[str]:
    """The shell commands of the README's "Run it locally" section, comments dropped."""
    text = (project / "README.md").read_text()
    section = text.split("## Run it locally", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command:
                commands.append(command)
    return commands


def standin_override(project: Path) -> list[str]:
    """Write the override that swaps in the derived stand-ins; the images it names.

    Only for the images the project's docker-compose.yml uses; builds each once.
    """
    import yaml

    services = yaml.safe_load((project / "docker-compose.yml").read_text())["services"]
    lines, used = ["services:"], []
    for name, service in services.items():
        derived = STANDINS.get(service.get("image", ""))
        if derived is None:
            continue
        image, dockerfile = derived
        if docker("image", "inspect", image, timeout=30).returncode != 0:
            done = subprocess.run(
                [DOCKER, "build", "-q", "--label", STANDIN_LABEL, "-t", image, "-"],
                input=dockerfile, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert done.returncode == 0, output(done)
        lines += [f"  {name}:", f"    image: {image}"]
        used.append(image)
    (project / "docker-compose.override.yml").write_text("\n".join(lines) + "\n")
    return used


@dataclass
class Compose:
    """One baked project under one Compose project name, published on a free port."""

    project: Path
    name: str  # COMPOSE_PROJECT_NAME, starts with PREFIX
    port: int = 0

    def __post_init__(self) -> None:
        assert self.name.startswith(PREFIX), self.name
        self.binary = compose_binary()
        self.port = self.port or free_port()

    def env(self) -> dict[str, str]:
        # The README's variable for the published port; nothing else is set.
        return clean_env(COMPOSE_PROJECT_NAME=self.name, APP_PORT=str(self.port))

    def readme(self, prefix: str) -> list[str]:
        """The README command that starts with ``docker compose <prefix>``, as argv.

        ``docker compose`` becomes the docker-compose binary.
        """
        matches = [c for c in readme_commands(self.project)
                   if c.startswith(f"docker compose {prefix}")]  # fmt: skip
        assert len(matches) == 1, f"README: no single `docker compose {prefix}...`: {matches}"
        return [self.binary, *shlex.split(matches[0])[2:]]

    def run(self, args: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """A docker-compose command line in the project; no TTY, never raises on failure."""
        return subprocess.run(
            args, cwd=self.project, env=self.env(), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run([self.binary, *args], timeout=timeout)

    def container(self, service: str) -> dict[str, str]:
        """Id, start time and image of the service's one container."""
        ids = self.compose("ps", "-q", service).stdout.split()
        assert len(ids) == 1, f"{service}: containers {ids}"
        fmt = "{{.Id}} {{.State.StartedAt}} {{.Image}}"
        cid, started, image = docker("inspect", "--format", fmt, ids[0]).stdout.split()
        return {"id": cid, "started": started, "image": image}

    def published(self, service: str, port: int) -> list[str]:
        """``host_ip:host_port`` of each binding of the container's ``port``."""
        cid = self.container(service)["id"]
        return docker("port", cid, f"{port}/tcp").stdout.split()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for_page(self, timeout: float = 240) -> tuple[int, dict[str, str], bytes]:
        """The home page's first answer; fails with the app's logs if none came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, headers, body = http("GET", self.url(), timeout=5)
            except OSError:
                status = 0
            if status == 200:
                return status, headers, body
            time.sleep(1)
        logs = self.compose("logs", "--no-color", "--tail", "60").stdout
        raise AssertionError(f"{self.url()} did not answer in {timeout}s; logs:\n{logs}")

    def leftovers(self) -> dict[str, list[str]]:
        """The containers, volumes and networks of this Compose project still there."""
        label = f"label={PROJECT_LABEL}={self.name}"
        found = {
            "containers": docker("ps", "-aq", "--filter", label).stdout.split(),
            "volumes": docker("volume", "ls", "-q", "--filter", label).stdout.split(),
            "networks": docker("network", "ls", "-q", "--filter", label).stdout.split(),
        }
        # By name too: what Compose created carries the project name first.
        prefix = f"{self.name}_"
        names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
        found["containers"] += [n for n in names if n.startswith(prefix)]
        volumes = docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
        found["volumes"] += [v for v in volumes if v.startswith(prefix)]
        networks = docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        found["networks"] += [n for n in networks if n.startswith(prefix)]
        return {kind: sorted(set(items)) for kind, items in found.items() if items}


def _projects(kind: str, fmt: str) -> dict[str, str]:
    """``id -> compose project`` of every object of ``kind`` with a Compose project label."""
    args = ["ps", "-a"] if kind == "container" else [kind, "ls"]
    done = docker(*args, "--filter", f"label={PROJECT_LABEL}", "--format", fmt)
    pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    return {ident: project for ident, project in pairs}


def cleanup(images: Iterable[str] = ()) -> None:
    """Remove every container, network and volume of a ``compose-`` project, and ``images``."""
    label = f'{{{{.Label "{PROJECT_LABEL}"}}}}'
    mine = [i for i, p in _projects("container", "{{.ID}} " + label).items()
            if p.startswith(PREFIX)]  # fmt: skip
    if mine:
        docker("rm", "-f", "-v", *mine)
    for kind in ("network", "volume"):
        ident = "{{.ID}}" if kind == "network" else "{{.Name}}"
        found = [i for i, p in _projects(kind, f"{ident} {label}").items() if p.startswith(PREFIX)]
        if found:
            docker(kind, "rm", *found)
    present = [i for i in images if docker("image", "inspect", i, timeout=30).returncode == 0]
    if present:
        docker("rmi", "-f", *present)
    standins = docker("images", "-q", "--filter", f"label={STANDIN_LABEL}").stdout.split()
    if standins:
        docker("rmi", "-f", *sorted(set(standins)))
