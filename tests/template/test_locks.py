"""The template's shipped locks pin the wheel this checkout builds.

A lock is a promise that ``pip install --require-hashes`` works: each
variant pins swarm-django by the hash of the wheel built from this very
commit (the one that would be published), so a change to swarmkit/, the
README or the packaging without ``make template-lock`` fails here.

deploy.txt is what the generated project's deploy job installs, in a job
that holds the SSH key of the swarm: swarmkit and the docker SDK, every
package with its hashes, at the versions production.txt pins.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.template.helpers import (
    TEMPLATE,
    check,
    clean_env,
    logical_requirements,
    output,
    pins,
    python_for,
    run,
    sha256,
)

VARIANTS = sorted((TEMPLATE / "requirements" / "_locks").iterdir())
SHIPPED_WHEELS = TEMPLATE / "requirements" / "wheels"
LOCKS = ("production.txt", "deploy.txt", "test.txt", "local.txt")
# What `swarmkit deploy` imports (the deploy extra: docker[ssh]), by their lock names.
DEPLOY_EXTRA = ("docker", "paramiko", "requests")
# The Python the shipped locks are resolved on (scripts/lock_template.py).
LOCK_PYTHON = "3.12"


def test_there_is_one_lock_set_per_django_and_redis_answer() -> None:
    names = {variant.name for variant in VARIANTS}
    assert names == {f"django{d}-{r}" for d in ("5.2", "6.1") for r in ("redis", "noredis")}


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_every_variant_ships_every_lock(variant: Path) -> None:
    present = {path.name for path in variant.iterdir()}
    assert present == {*LOCKS, "inputs.sha256"}


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_shipped_locks_pin_the_checkouts_wheel(variant: Path, wheel: Path) -> None:
    digest = sha256(wheel)
    for lock in LOCKS:
        entry = pins(variant / lock).get("swarm-django")
        assert entry is not None, f"{variant.name}/{lock} does not pin swarm-django"
        assert entry[1] == {digest}, (
            f"{variant.name}/{lock} pins swarm-django by {sorted(entry[1])}, the checkout's "
            f"wheel is {digest}: run `make template-lock`"
        )


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_deploy_lock_holds_the_deploy_extra_with_hashes(variant: Path) -> None:
    deploy = variant / "deploy.txt"
    locked = pins(deploy)
    for name in DEPLOY_EXTRA:
        assert name in locked, f"{variant.name}/deploy.txt does not pin {name}"
    # The job installs it --no-deps --require-hashes: every line pinned and hashed.
    requirements = logical_requirements(deploy)
    assert len(requirements) == len(locked) > len(DEPLOY_EXTRA)
    unhashed = [line for line in requirements if "--hash=sha256:" not in line]
    assert unhashed == []
    # Only what deploying needs: not the app's own packages.
    assert not {"django", "gunicorn", "psycopg", "redis"} & locked.keys()


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_deploy_lock_runs_the_versions_production_runs(variant: Path) -> None:
    """Constrained by production.txt: the swarmkit that deploys is the app's."""
    deploy, production = pins(variant / "deploy.txt"), pins(variant / "production.txt")
    shared = deploy.keys() & production.keys()
    assert {"swarm-django", "pydantic", "pyyaml"} <= shared
    differ = {name: (deploy[name][0], production[name][0]) for name in shared
              if deploy[name][0] != production[name][0]}  # fmt: skip
    assert differ == {}


def test_template_ships_the_checkouts_wheel(wheel: Path) -> None:
    """The file the locks find (``--find-links wheels``) is the wheel this commit builds."""
    shipped = sorted(SHIPPED_WHEELS.glob("*.whl"))
    assert [path.name for path in shipped] == [wheel.name]
    assert sha256(shipped[0]) == sha256(wheel), "run `make template-lock`"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_every_lock_finds_the_shipped_wheels_relative_to_itself(variant: Path) -> None:
    for lock in LOCKS:
        options = [line for line in logical_requirements(variant / lock, options=True)
                   if line.startswith("--find-links")]  # fmt: skip
        assert options == ["--find-links wheels"], f"{variant.name}/{lock}"


def test_deploy_lock_installs_alone_and_runs_swarmkit(tmp_path: Path) -> None:
    """What the deploy job runs: a fresh venv, deploy.txt only, no dependency resolution.

    No package index holds swarm-django and nothing points pip at a wheel but
    the lock itself: its ``--find-links wheels`` is taken relative to the lock,
    so the install works from any directory, still checked by the hashes.
    """
    python = python_for(LOCK_PYTHON)
    env = clean_env()
    env.pop("PIP_FIND_LINKS", None)
    distinct = {(variant / "deploy.txt").read_bytes(): variant for variant in VARIANTS}
    for number, variant in enumerate(distinct.values()):
        venv = tmp_path / f"venv{number}"
        requirements = tmp_path / f"project{number}" / "requirements"
        requirements.mkdir(parents=True)
        shutil.copyfile(variant / "deploy.txt", requirements / "deploy.txt")
        shutil.copytree(SHIPPED_WHEELS, requirements / "wheels")
        check(run([python, "-m", "venv", venv]))
        install = run(
            [venv / "bin" / "pip", "install", "--quiet", "--no-deps", "--require-hashes",
             "-r", requirements / "deploy.txt"],
            cwd=tmp_path,
            env=env,
            timeout=900,
        )  # fmt: skip
        assert install.returncode == 0, (
            f"{variant.name}/deploy.txt does not install (a stale swarm-django hash: "
            f"run `make template-lock`)\n{output(install)}"
        )
        version = check(run([venv / "bin" / "swarmkit", "--version"], env=env))
        assert pins(variant / "deploy.txt")["swarm-django"][0] in version.stdout + version.stderr
        # swarmkit.deploy refuses to load without the docker SDK (MissingExtraError).
        check(run([venv / "bin" / "python", "-c", "import swarmkit.deploy, docker, paramiko"],
                  env=env))  # fmt: skip
        check(run([venv / "bin" / "pip", "check"], env=env))
