"""Baking: every combination renders completely, options prune, bad answers are refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.template.helpers import (
    ALL_COMBOS,
    CUSTOM_ANSWERS,
    SLUG,
    Bakes,
    Combo,
    pins,
    project_files,
)

# What the contract promises in every project (cron.py and tests/test_cron.py only with cron).
REQUIRED = [
    "README.md", "manage.py", "Makefile", "pyproject.toml", ".gitlab-ci.yml", ".dockerignore",
    ".gitignore", "renovate.json", "docker-compose.yml",
    "{slug}/__init__.py", "{slug}/settings.py", "{slug}/urls.py", "{slug}/wsgi.py",
    "{slug}/asgi.py", "{slug}/management/commands/migrate_locked.py",
    "visits/models.py", "visits/views.py", "visits/migrations/0001_initial.py",
    "requirements/common.in", "requirements/production.in", "requirements/deploy.in",
    "requirements/test.in", "requirements/local.in", "requirements/production.txt",
    "requirements/deploy.txt", "requirements/test.txt", "requirements/local.txt",
    "requirements/inputs.sha256", "scripts/requirements.py",
    "docker/production/Dockerfile", "docker/production/entrypoint.sh",
    "docker/production/gunicorn.conf.py", "docker/local/Dockerfile",
    "deploy/stack.yml", "deploy/stack.staging.yml", "deploy/stack.production.yml",
    "deploy/stack.database-previous.yml",
    "deploy/deploy.sh", "deploy/configs/all/app.env", "deploy/configs/all/backup.sh",
    "deploy/configs/staging/app.env", "deploy/configs/staging/nginx.conf",
    "deploy/configs/production/app.env", "deploy/configs/production/nginx.conf",
    "docs/development.md", "docs/migrations.md", "docs/operations.md",
]  # fmt: skip
CRON_ONLY = ["{slug}/cron.py", "tests/test_cron.py", "deploy/stack.cron-key-fallbacks.yml"]
EXECUTABLE = ["manage.py", "docker/production/entrypoint.sh", "deploy/deploy.sh"]

# Left-overs of the template language. Django templates (copied raw) keep their
# own {% %} tags, but must not hold a cookiecutter variable either.
COOKIECUTTER_LEFTOVER = re.compile(
    r"\{\{-?\s*cookiecutter|cookiecutter\.[A-Za-z_]|\{%-?\s*(raw|endraw)\b"
)
JINJA_TAG = re.compile(r"\{%|%\}")


def in_django_templates(relative: Path) -> bool:
    return "templates" in relative.parts[:-1]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("combo", ALL_COMBOS, ids=lambda c: c.id)
def test_combination_bakes_every_file(bakes: Bakes, combo: Combo) -> None:
    project = bakes.project(combo)
    assert project.name == SLUG
    present = {p.relative_to(project).as_posix() for p in project_files(project)}
    missing = [f.format(slug=SLUG) for f in REQUIRED if f.format(slug=SLUG) not in present]
    assert missing == []
    assert not (project / "requirements" / "_locks").exists()
    for name in EXECUTABLE:
        assert (project / name).stat().st_mode & 0o111, f"{name} is not executable"


@pytest.mark.parametrize("combo", ALL_COMBOS, ids=lambda c: c.id)
def test_no_template_syntax_left(bakes: Bakes, combo: Combo) -> None:
    project = bakes.project(combo)
    found = []
    for path in project_files(project):
        relative = path.relative_to(project)
        if "{{" in str(relative) or "{%" in str(relative):
            found.append(f"{relative}: template syntax in the file name")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if COOKIECUTTER_LEFTOVER.search(line) or (
                JINJA_TAG.search(line) and not in_django_templates(relative)
            ):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []


@pytest.mark.parametrize("combo", ALL_COMBOS, ids=lambda c: c.id)
def test_cron_files_follow_the_option(bakes: Bakes, combo: Combo) -> None:
    project = bakes.project(combo)
    for name in CRON_ONLY:
        assert (project / name.format(slug=SLUG)).exists() == combo.cron, name
    services = load_yaml(project / "deploy" / "stack.yml")["services"]
    assert ("scheduler" in services) == combo.cron
    secrets = load_yaml(project / "deploy" / "stack.yml").get("secrets") or {}
    assert ("cron_api_key" in secrets) == combo.cron
    settings = (project / SLUG / "settings.py").read_text()
    assert ("cron_api_key" in settings) == combo.cron


@pytest.mark.parametrize("combo", ALL_COMBOS, ids=lambda c: c.id)
def test_redis_follows_the_option(bakes: Bakes, combo: Combo) -> None:
    project = bakes.project(combo)
    stack = load_yaml(project / "deploy" / "stack.yml")["services"]
    compose = load_yaml(project / "docker-compose.yml")["services"]
    assert ("redis" in stack) == combo.redis
    assert ("redis" in compose) == combo.redis
    for lock in ("production.txt", "test.txt", "local.txt"):
        assert ("redis" in pins(project / "requirements" / lock)) == combo.redis, lock
    assert "redis" not in pins(project / "requirements" / "deploy.txt")
    assert ("redis" in (project / "requirements" / "common.in").read_text().lower()) == combo.redis
    if not combo.redis:
        overlays = [project / "deploy" / f"stack.{env}.yml" for env in ("staging", "production")]
        for path in [*overlays, *(project / "deploy" / "configs").rglob("*")]:
            if path.is_file():
                assert "redis" not in path.read_text().lower(), path


@pytest.mark.parametrize("combo", ALL_COMBOS, ids=lambda c: c.id)
def test_versions_are_the_chosen_ones(bakes: Bakes, combo: Combo) -> None:
    project = bakes.project(combo)
    dockerfile = (project / "docker" / "production" / "Dockerfile").read_text()
    assert f"python:{combo.python_version}-slim-bookworm" in dockerfile
    for other in {c.python_version for c in ALL_COMBOS} - {combo.python_version}:
        assert f"python:{other}-" not in dockerfile
    db = load_yaml(project / "deploy" / "stack.yml")["services"]["db"]
    assert db["image"] == f"postgres:{combo.postgresql_version}-bookworm"
    django = pins(project / "requirements" / "production.txt")["django"][0]
    assert django.split(".")[:2] == combo.django_version.split(".")


def test_custom_answers_are_rendered(bakes: Bakes) -> None:
    if bakes.custom is None:
        pytest.fail(f"the custom answers did not bake:\n{bakes.custom_error}")
    project = bakes.custom
    assert project.name == CUSTOM_ANSWERS["project_slug"]
    assert (project / CUSTOM_ANSWERS["project_slug"] / "settings.py").is_file()
    assert CUSTOM_ANSWERS["project_name"] in (project / "README.md").read_text()
    texts = "\n".join(p.read_text(errors="replace") for p in project_files(project))
    assert CUSTOM_ANSWERS["domain_name"] in texts
    assert CUSTOM_ANSWERS["registry_image"] in texts
    assert SLUG not in texts, "the default slug leaks into a project with another slug"
