"""The public API: each module's ``__all__`` is what docs/api.md documents."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import swarmkit

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def documented() -> dict[str, set[str]]:
    sections: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in DOC.read_text().splitlines():
        heading = re.match(r"^## `([\w.]+)`", line)
        if heading:
            current = sections.setdefault(heading.group(1), set())
            continue
        item = re.match(r"^- `(\w+)`", line)
        if item and current is not None:
            current.add(item.group(1))
    return sections


@pytest.mark.parametrize("module", sorted(documented()))
def test_all_matches_docs(module: str) -> None:
    exported = set(importlib.import_module(module).__all__)
    assert exported == documented()[module]


def every_module() -> list[str]:
    names = ["swarmkit"]
    for info in pkgutil.walk_packages(swarmkit.__path__, "swarmkit."):
        if ".migrations" in info.name:
            continue
        if info.name in ("swarmkit.__main__", "swarmkit._version"):
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("module", every_module())
def test_every_module_declares_all_and_it_resolves(module: str) -> None:
    loaded = importlib.import_module(module)
    assert hasattr(loaded, "__all__"), f"{module} has no __all__"
    for name in loaded.__all__:
        assert getattr(loaded, name, None) is not None, f"{module}.{name} is missing"


def test_import_swarmkit_is_light() -> None:
    code = (
        "import sys, swarmkit; "
        "heavy = [m for m in ('pydantic', 'yaml', 'django', 'docker') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_names_load_on_use() -> None:
    code = "import sys, swarmkit; swarmkit.Stack; print('pydantic' in sys.modules, 'django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        swarmkit.NoSuchThing  # noqa: B018


@pytest.mark.parametrize(
    "module",
    [
        "swarmkit.exceptions",
        "swarmkit.files",
        "swarmkit.cli",
        "swarmkit.healthcheck",
        "swarmkit.tunnel",
        "swarmkit.session",
    ],
)
def test_stdlib_only_modules_stay_light(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(','.join(m for m in ('pydantic', 'yaml', 'django', 'docker') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_missing_django_extra_says_what_to_install() -> None:
    code = "import sys; sys.modules['django'] = None; import swarmkit.django"
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert out.returncode == 1
    assert "pip install 'swarm-django[django]'" in out.stderr.splitlines()[-1]
