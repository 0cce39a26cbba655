"""Session fixtures of the pipeline suite: the engine and stand-ins, gitlab-ci-local, the
registry, the sshd, and the baked project as a git repository.

Under ``CI=true`` a missing engine, image or tool fails the suite.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.sshd import Sshd, private_sshd
from tests.deploy.sshd import missing as sshd_missing
from tests.django.servers import free_port
from tests.e2e.build import bake_project
from tests.pipeline import project as pipe
from tests.pipeline import registry as registry_module
from tests.pipeline import runner, standins
from tests.pipeline.registry import Registry, running_registry
from tests.template.helpers import unavailable
from tests.template.servers import require_engine, require_image

ANSWERS = {
    "project_name": pipe.PROJECT_NAME,
    "python_version": "3.12",
    "django_version": "5.2",
    "postgresql_version": "15",
    "use_redis": "n",
    "use_cron": "y",
}
FIGURES: dict[str, str] = {}
"""What the suite measured, printed at the end of the run."""


def figure(name: str, value: str) -> None:
    FIGURES[name] = value


@pytest.fixture(scope="session")
def engine() -> Iterator[None]:
    require_engine()
    for image in ("debian:bookworm-slim", "python:3.12-slim-bookworm", "postgres:15-bookworm",
                  "nginx:1.22-bookworm"):  # fmt: skip
        require_image(image)
    for reason in (standins.missing(), runner.missing(), registry_module.missing(),
                   sshd_missing()):  # fmt: skip
        if reason:
            unavailable(reason)
    if shutil.which("openssl") is None:
        unavailable("openssl is needed for the stack's TLS pair")
    standins.ensure()
    runner.install()
    pipe.cleanup()
    yield
    pipe.cleanup()


@pytest.fixture(scope="session")
def registry(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running_registry(tmp_path_factory.mktemp("registry")) as server:
        yield server


@pytest.fixture(scope="session")
def sshd(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with private_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="session")
def project(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baked project, its lock pinning this checkout's wheel, as a git repository."""
    root = tmp_path_factory.mktemp("pipeline")
    baked = bake_project(root, ANSWERS)
    (baked / pipe.OVERLAY_FILE).write_text(pipe.OVERLAY)
    pipe.git_repository(baked)
    return baked


@dataclass(frozen=True)
class Runner:
    """The values a GitLab runner and the project's CI/CD settings give the jobs."""

    registry: Registry
    sshd: Sshd
    ports: tuple[int, int]

    @property
    def image(self) -> str:
        return f"{self.registry.address}/{pipe.REPOSITORY}"

    def common(self) -> dict[str, str]:
        return {
            "CI_REGISTRY": self.registry.address,
            "CI_REGISTRY_IMAGE": self.image,
            "CI_REGISTRY_USER": self.registry.user,
            "CI_REGISTRY_PASSWORD": self.registry.password,
        }

    def build(self) -> dict[str, str]:
        """The build job: the host's engine by socket binding, in place of docker:dind."""
        return {**self.common(), "DOCKER_HOST": "unix:///var/run/docker.sock",
                "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": "", "DOCKER_TLS_CERTDIR": ""}  # fmt: skip

    def deploy(self) -> dict[str, str]:
        """The deploy jobs: the environment's manager over SSH, its key and host key."""
        host_key = (self.sshd.root / "host_key.pub").read_text().split()
        return {
            **self.common(),
            "DOCKER_HOST": self.sshd.docker_host,
            "SSH_PRIVATE_KEY": (self.sshd.root / "client_key").read_text(),
            "SSH_KNOWN_HOSTS": f"[127.0.0.1]:{self.sshd.port} {host_key[0]} {host_key[1]}",
            "DEPLOY_STACK_FILES": pipe.OVERLAY_FILE,
            "HTTP_PORT": str(self.ports[0]),
            "HTTPS_PORT": str(self.ports[1]),
        }

    def run_checks(self, project: Path, *jobs: str) -> runner.Run:
        """Jobs of the test stage, in their images (the test job's PostgreSQL as a service)."""
        # The PostgreSQL stand-in initdb's with the server's locale, and an
        # official image's is UTF-8 (LANG=en_US.utf8); without it the
        # database is SQL_ASCII and psycopg returns bytes. Job variables
        # reach the job's services too, as on GitLab.
        return runner.pipeline(project, jobs, variables={"LANG": "C.UTF-8"})

    def run_build(self, project: Path, *jobs: str) -> runner.Run:
        """The pipeline's automatic jobs (or ``jobs``): test, hadolint, shellcheck, build."""
        return runner.pipeline(project, jobs, variables=self.build(),
                               options=["--volume", "/var/run/docker.sock:/var/run/docker.sock"])  # fmt: skip

    def run_deploy(self, project: Path, job: str = "deploy:staging") -> runner.Run:
        """A manual deploy job, as a person starts it: on the host's network (the sshd is on 127.0.0.1)."""
        return runner.pipeline(project, [job], variables=self.deploy(),
                               options=["--network", "host"])  # fmt: skip


@pytest.fixture(scope="session")
def secrets_created(engine: None, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Version 1 of the staging stack's external secrets, the database node labelled."""
    pipe.create_secrets(tmp_path_factory.mktemp("secrets"))


@pytest.fixture(scope="session")
def ci(registry: Registry, sshd: Sshd) -> Runner:
    return Runner(registry, sshd, (free_port(), free_port()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("SWARMKIT_PIPELINE_FIGURES")
    if path and FIGURES:
        Path(path).write_text(json.dumps(FIGURES, indent=1) + "\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("pipeline figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
