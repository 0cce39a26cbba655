"""Session fixtures of the end-to-end suite: the engine, the baked project, its images.

The project is baked from this checkout's template (cron on), gains one cron
job that runs every three seconds (as a team adds its own jobs), and is built
five times with BuildKit: v1, v2 and v4 (good releases), and two broken v3s,
one whose migration fails and one whose healthcheck never passes. The
checkout's swarm-django wheel reaches the build through a password-protected
package index, as a private one would. Under ``CI=true`` a missing engine,
image or tool fails the suite.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.django.servers import free_port
from tests.e2e import harness
from tests.e2e.build import bake_project, build_images
from tests.template.servers import require_engine, require_image

ANSWERS = {
    "project_name": harness.PROJECT_NAME,
    "python_version": "3.12",
    "django_version": "5.2",
    "postgresql_version": "15",
    "use_redis": "n",
    "use_cron": "y",
}


@dataclass(frozen=True)
class Deployment:
    """The baked project, its images and what the stack needs to be reached."""

    project: Path
    ports: tuple[int, int]  # host ports of the proxy: HTTP, HTTPS
    secrets: dict[str, str]  # external secret name -> value

    @property
    def https(self) -> int:
        return self.ports[1]


@pytest.fixture(scope="session")
def engine() -> Iterator[None]:
    require_engine()
    for image in ("python:3.12-slim-bookworm", "postgres:15-bookworm", "nginx:1.22-bookworm"):
        require_image(image)
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed for the stack's TLS pair")
    harness.cleanup()
    yield
    harness.cleanup()


@pytest.fixture(scope="session")
def project(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baked project, its lock pinning this checkout's wheel, with the e2e cron job."""
    root = tmp_path_factory.mktemp("e2e")
    project = bake_project(root, ANSWERS)
    (project / harness.OVERLAY_FILE).write_text(harness.OVERLAY)
    build_images(project, root, harness.IMAGE, {
        "v1": None, "v2": None, "v4": None,
        "v3-migration": _broken_migration, "v3-health": _never_alive,
    })  # fmt: skip
    return project


def _broken_migration(project: Path) -> None:
    (project / "visits" / "migrations" / "0002_e2e_broken.py").write_text(harness.BROKEN_MIGRATION)


def _never_alive(project: Path) -> None:
    conf = project / "docker" / "production" / "gunicorn.conf.py"
    # The web server listens where nothing probes it: alive never answers.
    conf.write_text(conf.read_text().replace('bind = "0.0.0.0:8000"', 'bind = "0.0.0.0:8001"'))


@pytest.fixture(scope="session")
def deployment(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """Secrets created and the database node labelled; nothing deployed yet."""
    values = harness.create_secrets(tmp_path_factory.mktemp("tls"))
    harness.label_db_node()
    return Deployment(project, (free_port(), free_port()), values)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # benchmarks/e2e_figures.py names the file: it keeps them in docs/benchmarks.md.
    path = os.environ.get("SWARMKIT_E2E_FIGURES")
    if path and harness.FIGURES:
        Path(path).write_text(json.dumps(harness.FIGURES, indent=1) + "\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if harness.FIGURES:
        terminalreporter.section("end-to-end figures")
        for name, value in harness.FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
