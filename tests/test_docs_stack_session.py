"""The console session of docs/stack.md's tutorial prints what the page shows.

The page builds ``deploy/stack.yml`` in Python, adds a hand-written image
overlay and lints both: the session runs here on those very files (the
tutorial's Python block and YAML block, written out as the page names them).
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_docs import ROOT, console_sessions, run_console_step

PAGE = ROOT / "docs" / "stack.md"


def block_after(text: str, marker: str, language: str) -> str:
    """The first ``language`` block after ``marker`` in the page."""
    start = text.index(marker)
    found = re.compile(rf"```{language}\n(.*?)```", flags=re.DOTALL).search(text, start)
    assert found is not None, f"no {language} block after {marker!r} in docs/stack.md"
    return found.group(1)


def test_stack_page_lint_session_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = PAGE.read_text()
    shutil.copytree(ROOT / "examples", tmp_path / "deploy")
    (tmp_path / "deploy/build_stack.py").write_text(
        block_after(text, "`deploy/build_stack.py`:", "python")
    )
    (tmp_path / "deploy/stack.image.yml").write_text(
        block_after(text, "`deploy/stack.image.yml`", "yaml")
    )
    monkeypatch.chdir(tmp_path)
    for name in ("IMAGE", "TAG", "DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    [steps] = [s for s in console_sessions(PAGE) if any("swarmkit lint" in c for c, _ in s)]
    ran = []
    status = 0
    for command, shown in steps:
        if command.startswith("python "):
            done = subprocess.run(
                [sys.executable, *command.split()[1:]], capture_output=True, text=True, check=False
            )
            printed, status = done.stdout + done.stderr, done.returncode
        elif command.startswith("git "):
            continue  # the page's CI check; this folder is no repository
        else:
            printed, status = run_console_step(command, status, monkeypatch, capsys)
        if printed != shown:
            diff = "".join(
                difflib.unified_diff(
                    shown.splitlines(keepends=True), printed.splitlines(keepends=True),
                    "docs/stack.md", "what the command prints",
                )
            )  # fmt: skip
            pytest.fail(f"docs/stack.md: `$ {command}` prints something else:\n{diff}")
        ran.append(command.split()[0])
    assert ran == ["python", "swarmkit"]


def test_no_page_calls_a_shipped_command_planned() -> None:
    from swarmkit.cli import build_parser

    shipped = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"\s+", " ", page.read_text())
        for command in shipped:
            for sentence in re.findall(rf"[^.]*`swarmkit {command}`[^.]*\.", text):
                assert not re.search(r"\bplanned\b|later release|not yet", sentence), (
                    f"{page.name} calls swarmkit {command} planned: {sentence.strip()}"
                )
