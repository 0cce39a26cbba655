"""Real servers of the image tests: a password-protected package index and the Docker Engine.

``PackageIndex`` is pypiserver on ``127.0.0.1:<port>`` with an htpasswd file:
listing and downloading need the password, as a private registry does.
Docker builds reach it with ``--network host``. Every image, container and
network the tests create carries ``LABEL``, so a later run removes what an
interrupted one left behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from base64 import b64encode
from collections.abc import Sequence
from pathlib import Path

from tests.django.servers import free_port, wait_for_port
from tests.template.helpers import LABEL, run, unavailable

DOCKER = "/usr/bin/docker"  # the engine's own client: BuildKit's RUN --mount works with it


class PackageIndex:
    """pypiserver serving ``packages`` to user ``ci`` with a random password only."""

    user = "ci"

    def __init__(self, root: Path, packages: Path) -> None:
        with warnings.catch_warnings():
            # passlib imports the deprecated crypt module; pypiserver needs passlib.
            warnings.simplefilter("ignore", DeprecationWarning)
            from passlib.apache import HtpasswdFile

        self.root = root
        self.packages = packages
        self.password = secrets.token_hex(20)
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.htpasswd = root / "htpasswd"
        users = HtpasswdFile(str(self.htpasswd), new=True, default_scheme="portable")
        users.set_password(self.user, self.password)
        users.save()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, credentials: bool = True) -> str:
        auth = f"{self.user}:{self.password}@" if credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}/simple/"

    def start(self) -> PackageIndex:
        log = open(self.root / "pypiserver.log", "ab")  # noqa: SIM115 - the server keeps it
        # fmt: off
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pypiserver", "run", "-p", str(self.port), "-i", "127.0.0.1",
             "-a", "download,list,update", "-P", str(self.htpasswd), "--disable-fallback",
             str(self.packages)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        # fmt: on
        wait_for_port(self.port)
        return self

    def status(self, path: str, credentials: bool) -> int:
        """The HTTP status of ``GET /simple/<path>``, with or without the password."""
        request = urllib.request.Request(self.url(credentials=False) + path)
        if credentials:
            token = b64encode(f"{self.user}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def docker(*args: str | os.PathLike[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run([DOCKER, *args], timeout=timeout)


def require_engine() -> None:
    if not os.access(DOCKER, os.X_OK):
        unavailable(f"{DOCKER} (the Docker Engine's client) is not installed")
    info = docker("info", "--format", "{{.ServerVersion}}", timeout=30)
    if info.returncode != 0 or not info.stdout.strip():
        unavailable(f"the Docker Engine does not answer: {info.stderr.strip()}")


def require_image(name: str) -> None:
    if docker("image", "inspect", name, timeout=30).returncode != 0:
        unavailable(
            f"image {name} is missing (build the stand-ins: shared/e2e/build-standin-images.sh)"
        )


def remove_labelled() -> None:
    """Remove every container, image and network that carries ``LABEL``."""
    label = f"label={LABEL}"
    containers = docker("ps", "-aq", "--filter", label).stdout.split()
    if containers:
        docker("rm", "-f", "-v", *containers)
    networks = docker("network", "ls", "-q", "--filter", label).stdout.split()
    if networks:
        docker("network", "rm", *networks)
    images = sorted(set(docker("images", "-q", "--filter", label).stdout.split()))
    if images:
        docker("rmi", "-f", *images)


def build(
    context: Path,
    tag: str,
    *,
    dockerfile: str = "docker/production/Dockerfile",
    build_args: Sequence[str] = (),
    secret_file: Path | None = None,
    timeout: float = 900,
    label: str = LABEL,
) -> subprocess.CompletedProcess[str]:
    """``DOCKER_BUILDKIT=1 docker build --network host`` of ``context``, labelled."""
    args = [DOCKER, "build", "--network", "host", "--progress", "plain", "-f", dockerfile,
            "--label", label, "-t", tag]  # fmt: skip
    for arg in build_args:
        args += ["--build-arg", arg]
    if secret_file is not None:
        args += ["--secret", f"id=pip_index_url,src={secret_file}"]
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    return run([*args, "."], cwd=context, env=env, timeout=timeout)
