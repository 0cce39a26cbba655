"""scripts/requirements.py check: the locks match their .in files and pin with hashes."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SCRIPT = PROJECT / "scripts" / "requirements.py"


def check(root=PROJECT):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), "check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_locks_are_up_to_date():
    done = check()
    assert done.returncode == 0, done.stderr


def copy_project(tmp_path):
    shutil.copytree(PROJECT / "requirements", tmp_path / "requirements")
    return tmp_path


def test_a_changed_in_file_fails_the_check(tmp_path):
    root = copy_project(tmp_path)
    with (root / "requirements" / "common.in").open("a") as common:
        common.write("requests\n")
    done = check(root)
    assert done.returncode == 1
    assert "common.in: changed since the requirements were locked" in done.stderr


def test_a_requirement_without_hash_fails_the_check(tmp_path):
    root = copy_project(tmp_path)
    production = root / "requirements" / "production.txt"
    production.write_text(production.read_text() + "requests==2.32.3\n")
    done = check(root)
    assert done.returncode == 1
    assert "production.txt" in done.stderr
    assert "requests has no --hash" in done.stderr


@pytest.mark.parametrize("lock", ["production.txt", "deploy.txt", "test.txt", "local.txt"])
def test_a_missing_lock_fails_the_check(tmp_path, lock):
    root = copy_project(tmp_path)
    (root / "requirements" / lock).unlink()
    done = check(root)
    assert done.returncode == 1
    assert f"{lock}: missing" in done.stderr
