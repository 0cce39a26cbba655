"""The Python examples of docs/stack.md run as written, in order, on examples/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)


def yaml_files(page: Path) -> dict[str, str]:
    """YAML blocks the text introduces as a file: "... `deploy/x.yml`...:" then the block."""
    found = re.findall(
        r"`(deploy/[\w./-]+\.yml)`[^\n]*:?\n+```yaml\n(.*?)```", page.read_text(), flags=re.DOTALL
    )
    return dict(found)


def test_tutorial_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "deploy")
    monkeypatch.chdir(tmp_path)
    for name in ("IMAGE", "TAG", "DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict[str, object] = {
        "__name__": "tutorial",
        "__file__": str(tmp_path / "deploy" / "build_stack.py"),
    }
    files = yaml_files(ROOT / "docs" / "stack.md")
    assert "deploy/broken.yml" in files
    for name, text in files.items():
        if not (tmp_path / name).exists():
            (tmp_path / name).write_text(text)
    blocks = python_blocks(ROOT / "docs" / "stack.md")
    assert len(blocks) >= 8
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"docs/stack.md block {number}", "exec"), namespace)
        except SystemExit:
            pass  # the lint and error-handling examples end with sys.exit, as a script would
        except Exception as exc:
            pytest.fail(f"docs/stack.md python block {number} failed: {exc!r}\n{block}")
