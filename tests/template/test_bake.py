"""Baking: every combination renders completely, options prune, bad answers are refused."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from tests.template.helpers import (
    ALL_COMBOS,
    CUSTOM_ANSWERS,
    REPO,
    SLUG,
    Bakes,
    Combo,
    bake,
    cookiecutter_config,
    pins,
    project_files,
    run,
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


# -- refused answers --------------------------------------------------------------------

INVALID = [
    pytest.param({"project_slug": "Acme-Shop"}, "project_slug 'Acme-Shop' is not a valid package name", id="slug-case-dash"),
    pytest.param({"project_slug": "1shop"}, "project_slug '1shop' is not a valid package name", id="slug-digit"),
    pytest.param({"project_slug": "class"}, "project_slug 'class' is not a valid package name", id="slug-keyword"),
    pytest.param({"project_slug": "django"}, "project_slug 'django' would shadow", id="slug-reserved"),
    pytest.param({"project_slug": "visits"}, "project_slug 'visits' would shadow", id="slug-example-app"),
    pytest.param({"project_name": "   ", "project_slug": "shop"}, "project_name is empty", id="name-empty"),
    pytest.param({"domain_name": "https://example.com"}, "domain_name 'https://example.com' is not a host name", id="domain-scheme"),
    pytest.param({"domain_name": "example.com:8443"}, "domain_name 'example.com:8443' is not a host name", id="domain-port"),
    pytest.param({"domain_name": "localhost"}, "domain_name 'localhost' is not a host name", id="domain-no-dot"),
    pytest.param({"registry_image": "registry.gitlab.com/acme/shop:1.0"}, "registry_image 'registry.gitlab.com/acme/shop:1.0' is not an image path without tag", id="image-tag"),
    pytest.param({"registry_image": "registry.gitlab.com/acme/shop@sha256:" + "a" * 64}, "registry_image 'registry.gitlab.com/acme/shop@sha256:" + "a" * 64 + "' is not an image path without tag", id="image-digest"),
    pytest.param({"registry_image": "Registry.gitlab.com/Acme/Shop"}, "registry_image 'Registry.gitlab.com/Acme/Shop' is not an image path without tag", id="image-case"),
    pytest.param({"author_email": "web.example.com"}, "author_email 'web.example.com' is not an e-mail address", id="email"),
]  # fmt: skip


def assert_nothing_written(directory: Path) -> None:
    assert list(directory.iterdir()) == [], "a refused bake left files behind"


@pytest.mark.parametrize(("answers", "message"), INVALID)
def test_invalid_answer_is_refused_by_the_pre_gen_hook(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], answers: dict[str, str], message: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(FailedHookException):
        bake(out, cookiecutter_config(tmp_path / "home"), answers)
    err = capfd.readouterr().err
    assert f"ERROR: {message}" in err
    assert_nothing_written(out)


def test_empty_project_name_is_refused_with_its_message(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The slug derived from a blank name must not make cookiecutter fail first, obscurely."""
    out = tmp_path / "out"
    with pytest.raises(FailedHookException):
        bake(out, cookiecutter_config(tmp_path / "home"), {"project_name": "   "})
    assert "ERROR: project_name is empty" in capfd.readouterr().err
    assert_nothing_written(out)


def test_unsupported_choice_is_refused_by_the_pre_gen_hook(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A replayed answer file skips cookiecutter's own choice check: the hook still refuses."""
    from cookiecutter.generate import generate_context
    from cookiecutter.main import cookiecutter
    from cookiecutter.prompt import prompt_for_config

    config = cookiecutter_config(tmp_path / "home")
    context = generate_context(context_file=str(REPO / "cookiecutter.json"))
    answers = prompt_for_config(context, no_input=True)
    answers.update(python_version="3.11", postgresql_version="9.6")
    replay = tmp_path / "answers.json"
    replay.write_text(json.dumps({"cookiecutter": answers}))
    capfd.readouterr()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FailedHookException):
        cookiecutter(str(REPO), replay=str(replay), output_dir=str(out), config_file=str(config))
    err = capfd.readouterr().err
    assert "ERROR: python_version '3.11' is not supported: choose one of 3.12, 3.13" in err
    assert "ERROR: postgresql_version '9.6' is not supported" in err
    assert_nothing_written(out)


def test_unlisted_choice_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="python_version"):
        bake(out, cookiecutter_config(tmp_path / "home"), {"python_version": "3.11"})
    assert not out.exists() or list(out.iterdir()) == []


def test_cli_shows_every_problem_and_fails(tmp_path: Path) -> None:
    """What a user sees: one line per bad answer, a non-zero exit, no project."""
    config = cookiecutter_config(tmp_path / "home")
    out = tmp_path / "out"
    out.mkdir()
    done = run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", config,
         "-o", out, REPO, "project_slug=class", "domain_name=Example.com",
         "author_email=nobody"],
    )  # fmt: skip
    assert done.returncode != 0
    assert "ERROR: project_slug 'class'" in done.stderr
    assert "ERROR: domain_name 'Example.com'" in done.stderr
    assert "ERROR: author_email 'nobody'" in done.stderr
    assert_nothing_written(out)
