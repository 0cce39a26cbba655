"""Session fixtures of the compose suite: the engine, docker-compose, the baked projects.

Each variant is baked from this checkout's template once per session (its
locks pinning this checkout's wheel, as the e2e suite bakes). Under
``CI=true`` a missing engine, docker-compose or stand-in image fails the
suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.compose import harness
from tests.e2e.build import bake_project
from tests.template.servers import require_engine, require_image


@dataclass(frozen=True)
class Variant:
    """One set of answers; its slug names the local image (``<slug>-local``)."""

    id: str
    answers: dict[str, str]

    @property
    def slug(self) -> str:
        return self.answers["project_name"].lower().replace(" ", "_")

    @property
    def image(self) -> str:
        return f"{self.slug}-local"

    @property
    def redis(self) -> bool:
        return self.answers.get("use_redis") == "y"


# The defaults but PostgreSQL 15, the one major the machine has a stand-in
# of; and the other side of each option but that one.
VARIANTS = [
    Variant("default", {"project_name": "Compose Dev", "postgresql_version": "15"}),
    Variant("redis", {
        "project_name": "Compose Cache", "python_version": "3.13", "django_version": "6.1",
        "postgresql_version": "15", "use_redis": "y", "use_cron": "n",
    }),
]  # fmt: skip
BASE_IMAGES = ("python:3.12-slim-bookworm", "python:3.13-slim-bookworm",
               "postgres:15-bookworm", "redis:7.0-bookworm")  # fmt: skip


@pytest.fixture(scope="session")
def engine() -> Iterator[None]:
    """The engine and docker-compose; what earlier runs left is removed first and last."""
    require_engine()
    harness.compose_binary()
    for image in BASE_IMAGES:
        require_image(image)
    images = [v.image for v in VARIANTS]
    harness.cleanup(images)
    yield
    harness.cleanup(images)


class Bakes:
    """Each variant baked when a test first asks for it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.projects: dict[str, Path] = {}

    def project(self, variant: Variant) -> Path:
        if variant.id not in self.projects:
            root = self.root / variant.id
            self.projects[variant.id] = bake_project(root, variant.answers, cron_job=False)
        return self.projects[variant.id]


@pytest.fixture(scope="session")
def bakes(tmp_path_factory: pytest.TempPathFactory) -> Bakes:
    return Bakes(tmp_path_factory.mktemp("compose"))
