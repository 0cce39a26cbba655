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


def test_read_bounded_reads_a_regular_file_up_to_its_limit(tmp_path: Path) -> None:
    from swarmkit.exceptions import StackFileError
    from swarmkit.files import read_bounded

    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_bounded(path, 10, what="stack file") == b"x" * 10
    with pytest.raises(StackFileError, match="the stack file is larger than 9 bytes"):
        read_bounded(path, 9, what="stack file")


def test_read_bounded_also_bounds_while_reading() -> None:
    # /proc files claim a size of 0, so only the bound on the reading itself catches them.
    from swarmkit.exceptions import EnvFileError
    from swarmkit.files import read_bounded

    path = Path("/proc/self/maps")
    assert path.stat().st_size == 0
    with pytest.raises(EnvFileError, match=f"^{path}: the env file is larger than 16 bytes"):
        read_bounded(path, 16, what="env file", error=EnvFileError)


def test_read_bounded_names_a_missing_file(tmp_path: Path) -> None:
    from swarmkit.exceptions import StackFileError
    from swarmkit.files import read_bounded

    with pytest.raises(StackFileError, match="cannot read the env file: No such file"):
        read_bounded(tmp_path / "missing", 16, what="env file")
