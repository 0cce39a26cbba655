"""docs/django.md stays true: every setting and every check id is documented."""

from __future__ import annotations

import re
from pathlib import Path

from swarmkit.django import checks
from swarmkit.django.conf import SwarmkitSettings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "django.md").read_text()


def test_every_setting_is_in_the_settings_table() -> None:
    names = {n for n in vars(SwarmkitSettings) if n.isupper()}
    documented = set(re.findall(r"^\| `SWARMKIT_(\w+)` \|", DOC, re.MULTILINE))
    assert names == documented


def test_every_check_id_is_documented_as_in_checks_module() -> None:
    in_module = set(re.findall(r"swarmkit\.[EW]\d{3}", checks.__doc__ or ""))
    documented = set(re.findall(r"^\| `(swarmkit\.[EW]\d{3})` \|", DOC, re.MULTILINE))
    assert in_module == documented
    assert len(in_module) >= 12


def test_every_documented_check_id_is_emitted_by_some_check() -> None:
    source = "".join(p.read_text() for p in Path(checks.__file__).parent.glob("*.py"))
    for check_id in set(re.findall(r"swarmkit\.[EW]\d{3}", checks.__doc__ or "")):
        assert f'id="{check_id}"' in source, f"{check_id} is documented but never emitted"
