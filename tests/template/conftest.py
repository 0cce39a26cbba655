"""Session fixtures of the template tests: every combination baked once, the wheel, PostgreSQL.

Under ``CI=true`` a missing PostgreSQL, Python or tool is a failure, never a skip.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from tests.template.helpers import (
    ALL_COMBOS,
    CUSTOM_ANSWERS,
    DEFAULT_COMBO,
    TEMPLATE,
    Bakes,
    bake,
    build_swarm_django_wheel,
    cookiecutter_config,
)


@pytest.fixture(scope="session")
def cookiecutter_user_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cookiecutter_config(tmp_path_factory.mktemp("cookiecutter-home"))


@pytest.fixture(scope="session")
def bakes(tmp_path_factory: pytest.TempPathFactory, cookiecutter_user_config: Path) -> Bakes:
    if not TEMPLATE.is_dir():
        pytest.fail(f"the template folder {TEMPLATE.name} is missing")
    root = tmp_path_factory.mktemp("baked")
    result = Bakes()
    for combo in ALL_COMBOS:
        try:
            result.projects[combo] = bake(
                root / combo.id, cookiecutter_user_config, combo.context()
            )
        except Exception:
            result.errors[combo] = traceback.format_exc()
    try:
        result.custom = bake(
            root / "custom", cookiecutter_user_config, {**DEFAULT_COMBO.context(), **CUSTOM_ANSWERS}
        )
    except Exception:
        result.custom_error = traceback.format_exc()
    return result


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's swarm-django wheel, alone in its directory (a find-links dir)."""
    return build_swarm_django_wheel(tmp_path_factory.mktemp("wheelhouse"))
