"""Hostile input through ``swarmkit.cli.main(argv)``: one error line, exit 2, never a traceback.

In-process (capsys) so that each case costs milliseconds; one subprocess
smoke test checks the same through the installed command.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swarmkit.cli import main
from swarmkit.files import MAX_CONFIG_FILE, MAX_SECRET_FILE, MAX_STACK_FILE
from tests.stack.oracle import run_both, write_files

HEAD = 'version: "3.8"\nservices:\n  app:\n    image: nginx\n'


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of ``swarmkit argv``; argparse's exits count too."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    err = capsys.readouterr().err
    return code, err


def assert_bad_input(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("swarmkit: error: "), err
    for needle in needles:
        assert needle in err


def stack_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "stack.yml"
    path.write_bytes((HEAD + body).encode())
    return str(path)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("    deploy:\n      replicas: " + "1" * 5000 + "\n", "stack.yml:6"),
        ("    labels:\n      a: !!int abc\n", "cannot decode !!str `abc` as a !!int"),
        ("    labels:\n      a: !!float abc\n", "cannot decode !!str `abc` as a !!float"),
        ("    labels:\n      a: !!bool x\n", "cannot decode !!str `x` as a !!bool"),
        ("    labels:\n      a: !!timestamp abc\n", "as a !!timestamp"),
        ("    labels:\n      a: !!null x\n", "as a !!null"),
        ("    labels:\n      a: !!int true\n", "cannot decode !!bool `true` as a !!int"),
        ("    networks: [{a: 1}]\n", "services.app.networks"),
        ("    extensions: [1]\n    x-a: 1\n", "stack.yml:5"),
    ],
)
def test_bad_values_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, needle: str
) -> None:
    code, err = run(["config", "-c", stack_file(tmp_path, body)], capsys)
    assert_bad_input(code, err, needle)
    assert len(err) < 400  # a 5000-digit value is not echoed whole


def test_explicit_tags_that_fit_are_kept(tmp_path: Path) -> None:
    body = "    labels:\n      a: !!float 1_0\n      b: !!str 12\n      c: !!int '12'\n"
    outcome = run_both(write_files(tmp_path, {"stack.yml": HEAD + body}))
    outcome.assert_same()
    assert outcome.ours["services"]["app"]["labels"] == {"a": "10", "b": "12", "c": "12"}


@pytest.mark.parametrize("tag", ["!!int abc", "!!float abc", "!!bool x", "!!timestamp abc"])
def test_explicit_tags_refused_like_the_cli(tmp_path: Path, tag: str) -> None:
    body = f"    labels:\n      a: {tag}\n"
    error = run_both(write_files(tmp_path, {"stack.yml": HEAD + body})).assert_refused_by_both()
    assert error.line == 6


def test_merge_key_twice_refused_like_the_cli(tmp_path: Path) -> None:
    text = (
        'version: "3.8"\nx-a: &a {image: nginx}\nx-b: &b {init: true}\n'
        "services:\n  app:\n    <<: *a\n    <<: *b\n"
    )
    outcome = run_both(write_files(tmp_path, {"stack.yml": text}))
    error = outcome.assert_refused_by_both()
    assert 'mapping key "<<" already defined' in outcome.cli_error
    assert str(error).startswith(f"{tmp_path / 'stack.yml'}:7: ")
    assert "already defined at line 6" in str(error)


def test_one_merge_key_with_a_list_still_merges(tmp_path: Path) -> None:
    text = (
        'version: "3.8"\nx-a: &a {image: nginx}\nx-b: &b {init: true}\n'
        "services:\n  app:\n    <<: [*a, *b]\n"
    )
    outcome = run_both(write_files(tmp_path, {"stack.yml": text}))
    outcome.assert_same()
    assert outcome.ours["services"]["app"]["init"] is True


def test_non_utf8_on_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (HEAD + '    labels:\n      a: "\xff"\n').encode("latin-1")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, err = run(["config", "-c", "-"], capsys)
    assert_bad_input(code, err, "<stdin>:6:", "not valid UTF-8")


class _Endless(io.RawIOBase):
    """A stream of zeros that never ends, counting what was read from it."""

    def __init__(self) -> None:
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        view[:] = b"\0" * len(view)
        self.taken += len(view)
        return len(view)


def test_endless_stdin_is_read_only_up_to_the_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    endless = _Endless()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(endless)))
    code, err = run(["config", "-c", "-"], capsys)
    assert_bad_input(code, err, "<stdin>: ", "larger than 16 MiB")
    assert endless.taken <= MAX_STACK_FILE + 2 * 1024 * 1024


@pytest.mark.parametrize("kind", ["fifo", "zero", "directory", "oversize"])
def test_stack_file_that_is_not_a_small_regular_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = tmp_path / "stack.yml"
    needle = {
        "fifo": "it is a FIFO (named pipe), not a regular file",
        "zero": "it is a character device, not a regular file",
        "directory": "it is a directory, not a regular file",
        "oversize": "larger than 16 MiB",
    }[kind]
    if kind == "fifo":
        os.mkfifo(path)  # no writer: a blocking open would hang
    elif kind == "zero":
        path = Path("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    else:
        with path.open("wb") as handle:
            handle.truncate(MAX_STACK_FILE + 1)  # sparse: no disk used
    code, err = run(["config", "-c", str(path)], capsys)
    assert_bad_input(code, err, f"swarmkit: error: {path}: ", needle)


@pytest.mark.parametrize(
    ("section", "limit", "size"),
    [("configs", MAX_CONFIG_FILE, "1000 KiB"), ("secrets", MAX_SECRET_FILE, "500 KiB")],
)
@pytest.mark.parametrize("kind", ["fifo", "zero", "oversize", "at_limit"])
def test_hash_names_reads_are_bounded(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    section: str,
    limit: int,
    size: str,
    kind: str,
) -> None:
    content = tmp_path / "content"
    if kind == "fifo":
        os.mkfifo(content)
    elif kind == "zero":
        content = Path("/dev/zero")
    else:
        with content.open("wb") as handle:
            handle.truncate(limit + (kind == "oversize"))
    text = HEAD + f"    {section}: [obj]\n{section}:\n  obj:\n    file: {content}\n"
    path = tmp_path / "stack.yml"
    path.write_text(text)
    code, err = run(["config", "-c", str(path), "--hash-names", "s"], capsys)
    if kind == "at_limit":
        assert code == 0, err
        return
    needle = {"fifo": "FIFO", "zero": "character device", "oversize": f"larger than {size}"}[kind]
    assert_bad_input(code, err, f"{content}: {section}.obj.file: ", needle)


@pytest.mark.parametrize("value", ["1e400", "inf", "nan", "-1", "1e300"])
@pytest.mark.parametrize("command", [["logs", "x", "--since"], ["rollback", "x", "--timeout"]])
def test_durations_out_of_range(
    capsys: pytest.CaptureFixture[str], command: list[str], value: str
) -> None:
    code, err = run([*command, value], capsys)
    assert_bad_input(code, err, "out of range")


def test_smoke_subprocess(tmp_path: Path) -> None:
    path = stack_file(tmp_path, "    labels:\n      a: !!int abc\n")
    result = subprocess.run(
        [sys.executable, "-m", "swarmkit", "config", "-c", path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("swarmkit: error: ") and "Traceback" not in result.stderr


CANARY = "hunter2-canary"


@pytest.mark.parametrize(
    ("body", "env"),
    [
        ("    deploy:\n      replicas: ${V}\n", {"V": CANARY}),
        ("    deploy:\n      replicas: ${V}\n", {"V": "9" * 5000}),
        ("    deploy:\n      update_config:\n        max_failure_ratio: ${V}\n", {"V": CANARY}),
        ("    read_only: ${V}\n", {"V": CANARY}),
        ("    ports: ['${V}']\n", {"V": CANARY}),
        ("    ports: ['80:${V}']\n", {"V": CANARY}),
        ("    stop_grace_period: ${V}\n", {"V": CANARY}),
        ("    healthcheck:\n      interval: 1${V}\n", {"V": CANARY}),
        ("    dns: ['${V}', '${V}']\n", {"V": CANARY}),
        ("    volumes: ['${V}:/a:b:c:d']\n", {"V": CANARY}),
        ("    command: 'a ${V}\"'\n", {"V": CANARY}),
        ("    labels: {a: '${W:?}'}\n", {"W": "", "V": CANARY}),
        ("    labels: {a: '${W?no} $'}\n", {"V": CANARY}),
        ("    ulimits:\n      nofile: ${V}\n", {"V": CANARY}),
    ],
)
def test_no_env_value_in_interpolation_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    env: dict[str, str],
) -> None:
    from swarmkit.exceptions import StackError
    from swarmkit.stack import load_stack

    path = stack_file(tmp_path, body)
    with pytest.raises(StackError) as info:
        load_stack(path, environ=env)
    for value in env.values():
        if value:
            assert value not in str(info.value)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, err = run(["config", "-c", path], capsys)
    assert_bad_input(code, err, f"{path}:")
    assert CANARY not in err and "9" * 100 not in err


def test_an_unexpected_engine_answer_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """An engine error no library call maps (a container gone between two calls) is one line."""
    import argparse

    import docker.errors

    from swarmkit.cli.command import _run

    def gone(args: argparse.Namespace) -> int:
        raise docker.errors.NotFound("404 Client Error", explanation="No such container: b2de22")

    code = _run(argparse.Namespace(run=gone))
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "swarmkit: error: the Docker engine answered: No such container: b2de22 "
        "(run the command again; if it persists, report it with `docker info`)\n"
    )


def test_a_bug_is_still_a_traceback() -> None:
    """Only engine answers become one line: a bug of swarmkit's own is not hidden."""
    import argparse

    from swarmkit.cli.command import _run

    def broken(args: argparse.Namespace) -> int:
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        _run(argparse.Namespace(run=broken))
