"""The examples of docs/stack.md (Python) and docs/cli.md (console) print what the pages show.

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
import shlex
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


# docs/cli.md: the console sessions on examples/ run in-process and print what
# the page shows (the page's checkout is /srv/mysite).


def console_sessions(page: Path) -> list[list[tuple[str, str]]]:
    """Each console block as (command, the output shown after it) pairs."""
    sessions = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(), flags=re.DOTALL):
        steps: list[tuple[str, str]] = []
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            command = lines[index][2:]
            while command.endswith("\\"):
                index += 1
                command = command[:-1] + lines[index].strip()
            index += 1
            output = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index] + "\n")
                index += 1
            steps.append((command, "".join(output)))
        sessions.append(steps)
    return sessions


def pipe(text: str, command: list[str]) -> str:
    """The two filters the page uses: ``head -n N`` and ``grep -A N PATTERN``."""
    lines = text.splitlines(keepends=True)
    if command[:2] == ["head", "-n"]:
        return "".join(lines[: int(command[2])])
    assert command[0] == "grep" and command[1].startswith("-A"), command
    after, pattern = int(command[1][2:]), re.compile(command[2])
    keep = set()
    for number, line in enumerate(lines):
        if pattern.search(line):
            keep.update(range(number, number + after + 1))
    return "".join(line for number, line in enumerate(lines) if number in keep)


def run_console_step(
    command: str, status: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[str, int]:
    from swarmkit.cli import main

    if command == "echo $?":
        return f"{status}\n", 0
    words, *filters = [shlex.split(part) for part in command.split(" | ")]
    with monkeypatch.context() as patch:
        while "=" in words[0]:
            name, value = words.pop(0).split("=", 1)
            patch.setenv(name, value)
        assert words[0] == "swarmkit", command
        capsys.readouterr()
        try:
            status = main(words[1:])
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
    for words in filters:
        out = pipe(out, words)
    return (out + err).replace(str(ROOT), "/srv/mysite"), status


def test_cli_page_sessions_print_what_the_page_shows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("IMAGE", "TAG", "DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    ran = 0
    for steps in console_sessions(ROOT / "docs" / "cli.md"):
        # Sessions on the examples only: the others need a project or an engine.
        if not all("examples/" in c or c == "echo $?" for c, _ in steps):
            continue
        status = 0
        for command, shown in steps:
            printed, status = run_console_step(command, status, monkeypatch, capsys)
            if printed != shown:
                diff = "".join(
                    difflib.unified_diff(
                        shown.splitlines(keepends=True),
                        printed.splitlines(keepends=True),
                        "docs/cli.md",
                        "what the command prints",
                    )
                )
                pytest.fail(f"docs/cli.md: `$ {command}` prints something else:\n{diff}")
            ran += 1
    assert ran >= 10
