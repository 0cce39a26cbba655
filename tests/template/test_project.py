"""Heavy checks on a pairwise subset: the project's own suite and Django's checks.

Each project gets a venv per Python x Django pair (kept between runs in the
cache) with its locked test requirements installed ``--require-hashes``; the
swarm-django wheel comes from this checkout. When the shipped lock pins
another build of it, the project is re-locked first with its own
``scripts/requirements.py lock`` (what ``make lock`` runs).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.django.servers import PostgresServer
from tests.template.helpers import (
    CHOICES,
    OPTIONS,
    Combo,
    Installed,
    check,
    output,
    pairwise_combos,
    run,
    venv_env,
)

pytestmark = pytest.mark.postgres

HEAVY = pairwise_combos()


def test_subset_is_pairwise() -> None:
    """Each value of each option, and each Python x Django pair, is in the subset."""
    for option in OPTIONS:
        assert {getattr(c, option) for c in HEAVY} == set(CHOICES[option]), option
    pairs = {(c.python_version, c.django_version) for c in HEAVY}
    assert len(pairs) == len(CHOICES["python_version"]) * len(CHOICES["django_version"])
    assert {(c.use_redis, c.use_cron) for c in HEAVY} == {
        (r, c) for r in CHOICES["use_redis"] for c in CHOICES["use_cron"]
    }


def database(postgres: PostgresServer, combo: Combo) -> str:
    name = "t_" + combo.id.replace(".", "").replace("-", "_")
    return postgres.create_database(name)


@pytest.mark.parametrize("combo", HEAVY, ids=lambda c: c.id)
def test_own_test_suite_passes(
    installed: Callable[[Combo], Installed], postgres: PostgresServer, combo: Combo
) -> None:
    project = installed(combo)
    env = venv_env(project.venv, DATABASE_URI=database(postgres, combo))
    done = run([project.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
               cwd=project.project, env=env, timeout=600)  # fmt: skip
    check(done)
    assert " passed" in done.stdout, output(done)


def secrets_dir(path: Path, combo: Combo, database_uri: str) -> Path:
    path.mkdir()
    (path / "secret_key").write_text(secrets.token_urlsafe(50) + "\n")
    (path / "database_uri").write_text(database_uri + "\n")
    if combo.cron:
        (path / "cron_api_key").write_text(secrets.token_urlsafe(32) + "\n")
    return path


@pytest.mark.parametrize("combo", HEAVY, ids=lambda c: c.id)
def test_check_deploy_is_clean_under_production_settings(
    installed: Callable[[Combo], Installed], postgres: PostgresServer, combo: Combo, tmp_path: Path
) -> None:
    project = installed(combo)
    uri = database(postgres, combo) + "?connect_timeout=2"
    env = venv_env(
        project.venv,
        SWARMKIT_SECRETS_DIR=str(secrets_dir(tmp_path / "secrets", combo, uri)),
        DJANGO_ALLOWED_HOSTS="example.com,www.example.com",
    )
    if combo.redis:
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    done = run([project.python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
               cwd=project.project, env=env, timeout=120)  # fmt: skip
    check(done)


@pytest.mark.parametrize("combo", HEAVY, ids=lambda c: c.id)
def test_no_missing_migrations(
    installed: Callable[[Combo], Installed], postgres: PostgresServer, combo: Combo, tmp_path: Path
) -> None:
    project = installed(combo)
    env = venv_env(
        project.venv,
        SWARMKIT_SECRETS_DIR=str(
            secrets_dir(tmp_path / "secrets", combo, database(postgres, combo))
        ),
    )
    done = run([project.python, "manage.py", "makemigrations", "--check", "--dry-run"],
               cwd=project.project, env=env, timeout=120)  # fmt: skip
    check(done)


@pytest.mark.parametrize("combo", HEAVY, ids=lambda c: c.id)
def test_own_locked_ruff_is_clean(installed: Callable[[Combo], Installed], combo: Combo) -> None:
    """The ruff version the project locks, as its pipeline runs it (`make lint`)."""
    project = installed(combo)
    ruff = str(project.venv / "bin" / "ruff")
    env = venv_env(project.venv)
    check(run([ruff, "check", "--no-cache", "."], cwd=project.project, env=env))
    check(run([ruff, "format", "--check", "--no-cache", "."], cwd=project.project, env=env))
