"""Session fixtures of the template tests: lazy bakes, the wheel, the heavy projects' venvs.

Each combination is baked once per session, when a test first needs it; the
heavy projects (tests/template/test_project.py) are re-locked and installed
in background threads from the start of the session, so that pip-compile and
pip, which mostly wait on indexes and the disk, run while the other tests do.
Under ``CI=true`` a missing PostgreSQL, Python or tool is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.template.helpers import (
    RELOCK,
    SLUG,
    TEMPLATE,
    Bakes,
    Combo,
    Installed,
    build_swarm_django_wheel,
    check,
    clean_env,
    cookiecutter_config,
    find_links,
    lock_is_current,
    project_venv,
    python_for,
    requirements_script,
    ship_wheel,
    tools_venv,
)

# Two: one pip-compile or pip install at a time each, beside the test that runs.
BACKGROUND_WORKERS = 2


@pytest.fixture(scope="session")
def cookiecutter_user_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cookiecutter_config(tmp_path_factory.mktemp("cookiecutter-home"))


@pytest.fixture(scope="session")
def bakes(tmp_path_factory: pytest.TempPathFactory, cookiecutter_user_config: Path) -> Bakes:
    if not TEMPLATE.is_dir():
        pytest.fail(f"the template folder {TEMPLATE.name} is missing")
    return Bakes(tmp_path_factory.mktemp("baked"), cookiecutter_user_config)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's swarm-django wheel, alone in its directory (a find-links dir)."""
    return build_swarm_django_wheel(tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture(scope="session")
def background() -> Iterator[ThreadPoolExecutor]:
    """Threads for the slow preparations; the session waits for them at its end."""
    with ThreadPoolExecutor(BACKGROUND_WORKERS, thread_name_prefix="template-prep") as pool:
        yield pool


def prepare(combo: Combo, baked: Path, root: Path, wheel: Path) -> Installed:
    """A copy of the baked project, re-locked if needed, and its venv (thread-safe)."""
    python = python_for(combo.python_version)
    project = root / combo.id / SLUG
    shutil.copytree(baked, project)
    env = clean_env(PIP_FIND_LINKS=find_links(wheel.parent))
    relocked = not lock_is_current(project, wheel)
    if relocked:
        ship_wheel(project, wheel)
        # The lock is resolved for the project's Python, by pip-tools in a venv of it.
        tools = tools_venv(python, combo.python_version)
        # make lock ARGS="--upgrade-package swarm-django"
        check(requirements_script(project, str(tools / "bin" / "python"), "lock", env, *RELOCK))
        check(requirements_script(project, str(tools / "bin" / "python"), "check", env))
        assert lock_is_current(project, wheel), "make lock did not pin the checkout's wheel"
    # One venv per Python x lock variant (django x redis), kept between runs.
    venv = project_venv(python, project, f"py{combo.python_version}-{combo.lock_variant}", env)
    return Installed(project, venv, relocked)


def combos_using(items: list[pytest.Item], fixture: str) -> list[Combo]:
    """The ``combo`` parameters of the selected tests that use ``fixture``, in order."""
    found: list[Combo] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        combo = params.get("combo")
        uses = fixture in getattr(item, "fixturenames", ())
        if uses and isinstance(combo, Combo) and combo not in found:
            found.append(combo)
    return found


@pytest.fixture(scope="session")
def installed(
    request: pytest.FixtureRequest,
    bakes: Bakes,
    wheel: Path,
    tmp_path_factory: pytest.TempPathFactory,
    background: ThreadPoolExecutor,
) -> Callable[[Combo], Installed]:
    """``installed(combo)``: a copy of the baked project and its venv, made once per session.

    Every selected combination starts preparing at once, in the background; a
    failure or a skip is kept and raised to every test of that combination.
    """
    root = tmp_path_factory.mktemp("heavy")
    futures: dict[Combo, Future[Installed]] = {}

    def submit(combo: Combo) -> Future[Installed]:
        if combo not in futures:
            try:
                baked = bakes.project(combo)  # here, in the main thread
            except (Exception, pytest.fail.Exception, pytest.skip.Exception) as exc:
                failed: Future[Installed] = Future()
                failed.set_exception(exc)
                futures[combo] = failed
            else:
                futures[combo] = background.submit(prepare, combo, baked, root, wheel)
        return futures[combo]

    for combo in combos_using(request.session.items, "installed"):
        submit(combo)
    return lambda combo: submit(combo).result()


@pytest.fixture(scope="session", autouse=True)
def _start_heavy_preparations(request: pytest.FixtureRequest) -> None:
    """Start ``installed`` with the first template test when a selected test needs it.

    A failure here is not this test's: pytest keeps the fixture's error and
    gives it to each test that uses ``installed``.
    """
    if combos_using(request.session.items, "installed"):
        with contextlib.suppress(Exception, pytest.fail.Exception, pytest.skip.Exception):
            request.getfixturevalue("installed")
