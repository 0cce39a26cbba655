"""Atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from swarmkit.exceptions import SwarmkitError
from swarmkit.files import write_atomically


def test_replaces_whole_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    path.write_text("old")
    os.chmod(path, 0o600)
    write_atomically(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.yml"]


def test_new_file_and_missing_directory(tmp_path: Path) -> None:
    write_atomically(tmp_path / "a.yml", "x")
    assert (tmp_path / "a.yml").stat().st_mode & 0o777 == 0o644
    with pytest.raises(SwarmkitError, match="cannot write"):
        write_atomically(tmp_path / "missing" / "a.yml", "x")
