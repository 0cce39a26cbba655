"""The exception tree: importable from ``swarmkit``, light to import, and documented whole."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys

import pytest

import swarmkit
import swarmkit.exceptions
from swarmkit.exceptions import SwarmkitError

# Raised and caught inside the loader, never out of it (tests/stack check the loader's errors).
INTERNAL = {"swarmkit.stack.golang.GoNumError"}

CRON_AND_DEPLOY = [
    "CronError",
    "CronScheduleError",
    "CronSettingsError",
    "SlotError",
    "DeployError",
    "DeployFailedError",
    "RollbackFailedError",
    "DockerCLIError",
    "EngineError",
    "StackNotFoundError",
    "MissingExtraError",
]
SECRET_ERRORS = ["SecretError", "MissingSecretError", "SecretFileError", "SecretValueError"]


def every_exception_class() -> dict[str, type[BaseException]]:
    """``module.Name`` -> class, for every public exception class defined in swarmkit."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(swarmkit.__path__, "swarmkit."):
        if ".migrations" in info.name or info.name == "swarmkit.__main__":
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and not name.startswith("_")
            ):
                found[f"{info.name}.{name}"] = value
    return found


def tree_names() -> list[str]:
    """The class names drawn in swarmkit.exceptions' docstring tree, in order."""
    doc = swarmkit.exceptions.__doc__ or ""
    return re.findall(r"^\s*(?:[│ ]*[├└]── )?([A-Z]\w+Error)\b", doc, re.MULTILINE)


def test_every_exception_class_is_in_the_docstring_tree() -> None:
    classes = every_exception_class()
    public = {path.rsplit(".", 1)[1] for path in classes if path not in INTERNAL}
    names = tree_names()
    assert len(names) == len(set(names)), names
    assert set(names) == public


def test_the_docstring_tree_draws_each_class_under_its_parent() -> None:
    doc = swarmkit.exceptions.__doc__ or ""
    classes = {path.rsplit(".", 1)[1]: cls for path, cls in every_exception_class().items()}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^(\s*(?:[│ ]*[├└]── )?)([A-Z]\w+Error)\b", line)
        if not match:
            continue
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            assert classes[stack[-1][1]] in classes[name].__bases__, (name, stack[-1][1])
        stack.append((depth, name))


def test_every_public_exception_is_a_swarmkit_error() -> None:
    for path, cls in every_exception_class().items():
        if path not in INTERNAL:
            assert issubclass(cls, SwarmkitError), path


@pytest.mark.parametrize("name", CRON_AND_DEPLOY + SECRET_ERRORS)
def test_importable_from_swarmkit_and_a_swarmkit_error(name: str) -> None:
    cls = getattr(swarmkit, name)
    assert issubclass(cls, SwarmkitError)
    assert name in dir(swarmkit)
    module = "swarmkit.django.secrets" if name in SECRET_ERRORS else "swarmkit.exceptions"
    assert cls is getattr(importlib.import_module(module), name)


def test_cron_and_deploy_errors_are_in_all_and_secret_errors_are_not() -> None:
    assert set(CRON_AND_DEPLOY) <= set(swarmkit.__all__)
    assert not set(SECRET_ERRORS) & set(swarmkit.__all__)


def test_slot_error_is_the_one_runs_raises() -> None:
    from swarmkit.django.runs import SlotError

    assert SlotError is swarmkit.SlotError
    assert issubclass(SlotError, ValueError) and issubclass(SlotError, swarmkit.CronError)


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


HEAVY = "[m for m in ('django', 'docker', 'pydantic', 'yaml') if m in sys.modules]"


def test_import_and_star_import_load_neither_django_nor_docker() -> None:
    assert run(f"import sys, swarmkit; print({HEAVY})") == "[]"
    assert run(f"import sys\nfrom swarmkit import *\nprint({HEAVY}, 'SlotError' in dir())") == (
        "['pydantic', 'yaml'] True"
    )


def test_cron_and_deploy_errors_import_without_django_or_docker() -> None:
    names = ", ".join(CRON_AND_DEPLOY)
    code = f"import sys\nfrom swarmkit import {names}\nprint({HEAVY})"
    assert run(code) == "[]"


def test_star_import_works_without_the_django_extra() -> None:
    code = (
        "import sys\nsys.modules['django'] = None\nfrom swarmkit import *\nprint(CronSettingsError)"
    )
    assert "CronSettingsError" in run(code)


def test_a_secret_error_needs_django_and_says_so() -> None:
    code = (
        "import sys\nsys.modules['django'] = None\nimport swarmkit\n"
        "try:\n    swarmkit.SecretError\nexcept ImportError as exc:\n    print(type(exc).__name__, exc)"
    )
    assert "pip install 'swarm-django[django]'" in run(code)
