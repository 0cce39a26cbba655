"""The Python examples of docs/stack.md run as written, in order, on examples/.

A block followed by "prints" and a block must print exactly that block (its
standard output, then the message of a ``sys.exit("...")``, as Python writes
it); a block followed by "The start of the output:" must print at least that
block from where its first line is printed. A block that no longer matches fails with a diff.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"```(\w*)\n(.*?)```", flags=re.DOTALL)


@dataclass(frozen=True)
class Example:
    """A python block and, when the page shows it, what it prints."""

    number: int
    code: str
    prints: str | None  # the shown output
    whole: bool  # the whole output ("prints"), or only its start


def examples(page: Path) -> list[Example]:
    text = page.read_text()
    fences = list(FENCE.finditer(text))
    found = []
    for index, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        prints: str | None = None
        whole = False
        if index + 1 < len(fences):
            between = text[fence.end() : fences[index + 1].start()].strip()
            if between in ("prints", "The start of the output:"):
                prints = fences[index + 1].group(2)
                whole = between == "prints"
        found.append(Example(len(found) + 1, fence.group(2), prints, whole))
    return found


def yaml_files(page: Path) -> dict[str, str]:
    """YAML blocks the text introduces as a file: "... `deploy/x.yml`...:" then the block."""
    found = re.findall(
        r"`(deploy/[\w./-]+\.yml)`[^\n]*:?\n+```yaml\n(.*?)```", page.read_text(), flags=re.DOTALL
    )
    return dict(found)


def run_example(example: Example, namespace: dict[str, object], page: str) -> tuple[str, object]:
    """Run one block; return what it printed and its exit status (None: it ran to the end)."""
    out = io.StringIO()
    status: object = None
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(example.code, f"{page} block {example.number}", "exec"), namespace)
        except SystemExit as exc:
            status = exc.code
    printed = out.getvalue()
    if isinstance(status, str):
        printed += status + "\n"  # what Python writes for sys.exit("message")
    return printed, status


def assert_prints(example: Example, printed: str, page: str) -> None:
    assert example.prints is not None
    shown = printed
    if not example.whole:
        # "The start of the output" of the block's last print: the lines the
        # page shows, from where its first line is printed, and no fewer.
        lines = printed.splitlines(keepends=True)
        first = example.prints.splitlines(keepends=True)[0]
        start = lines.index(first) if first in lines else 0
        shown = "".join(lines[start:])[: len(example.prints)]
    if shown != example.prints:
        diff = "".join(
            difflib.unified_diff(
                example.prints.splitlines(keepends=True),
                shown.splitlines(keepends=True),
                f"{page} (shown after block {example.number})",
                "what the block prints",
            )
        )
        pytest.fail(f"{page} python block {example.number} prints something else:\n{diff}")


def test_examples_are_read_with_their_output() -> None:
    found = examples(ROOT / "docs" / "stack.md")
    assert len(found) >= 8
    assert [e.whole for e in found if e.prints is not None] == [False, True]


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
    for example in examples(ROOT / "docs" / "stack.md"):
        try:
            printed, status = run_example(example, namespace, "docs/stack.md")
        except Exception as exc:
            pytest.fail(
                f"docs/stack.md python block {example.number} failed: {exc!r}\n{example.code}"
            )
        if example.prints is not None:
            assert_prints(example, printed, "docs/stack.md")
        elif isinstance(status, str):
            pytest.fail(
                f"docs/stack.md python block {example.number} exited with {status!r}"
                " and the page shows no output for it"
            )
        # An int status is a script's exit code (the lint example ends with sys.exit(1)).


def test_a_block_that_no_longer_prints_what_the_page_shows_fails_with_a_diff(
    tmp_path: Path,
) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        '```python\nimport sys\nprint("a")\nsys.exit("stop")\n```\n\nprints\n\n```text\na\nstart\n```\n'
    )
    [example] = examples(page)
    printed, status = run_example(example, {}, "page.md")
    assert (printed, status) == ("a\nstop\n", "stop")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)-start.*\+stop"):
        assert_prints(example, printed, "page.md")
    assert_prints(Example(1, example.code, "a\nstop\n", True), printed, "page.md")
