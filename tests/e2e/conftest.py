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
from tests.template.helpers import (
    RELOCK,
    bake,
    build_swarm_django_wheel,
    check,
    clean_env,
    cookiecutter_config,
    find_links,
    lock_is_current,
    python_for,
    requirements_script,
    tools_venv,
)
from tests.template.servers import PackageIndex, build, require_engine, require_image

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
    config = cookiecutter_config(root / "cookiecutter-home")
    project = bake(root / "baked", config, ANSWERS)
    wheel = build_swarm_django_wheel(root / "wheelhouse")
    if not lock_is_current(project, wheel):
        # This checkout's swarmkit changed since `make template-lock`.
        tools = tools_venv(python_for("3.12"), "3.12")
        env = clean_env(PIP_FIND_LINKS=find_links(wheel.parent))
        check(requirements_script(project, str(tools / "bin" / "python"), "lock", env, *RELOCK))
    cron = project / harness.SLUG / "cron.py"
    cron.write_text(cron.read_text() + harness.CRON_JOB)
    (project / harness.OVERLAY_FILE).write_text(harness.OVERLAY)
    index = PackageIndex(root / "index", wheel.parent).start()
    try:
        secret = root / "pip_index_url"
        secret.write_text(index.url())
        _build_all(project, root, secret)
    finally:
        index.stop()
        (root / "pip_index_url").unlink(missing_ok=True)
    return project


def _build_all(project: Path, root: Path, secret: Path) -> None:
    def image(context: Path, tag: str) -> None:
        check(build(context, f"{harness.IMAGE}:{tag}", build_args=[f"APP_VERSION=e2e-{tag}"],
                    secret_file=secret, label=harness.LABEL))  # fmt: skip

    for tag in ("v1", "v2", "v4"):
        image(project, tag)
    migration = root / "v3-migration"
    shutil.copytree(project, migration)
    (migration / "visits" / "migrations" / "0002_e2e_broken.py").write_text(
        harness.BROKEN_MIGRATION
    )
    image(migration, "v3-migration")
    health = root / "v3-health"
    shutil.copytree(project, health)
    conf = health / "docker" / "production" / "gunicorn.conf.py"
    # The web server listens where nothing probes it: alive never answers.
    conf.write_text(conf.read_text().replace('bind = "0.0.0.0:8000"', 'bind = "0.0.0.0:8001"'))
    image(health, "v3-health")


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
