"""Env files compared with the ``environment`` the real ``docker stack config`` prints.

Each case writes env files next to a stack file that lists them under
``env_file:``, runs the CLI, and checks that our parse gives the same
variables, or fails on the same line where the CLI fails.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from pathlib import Path

import pytest
import yaml

from swarmkit.exceptions import EnvFileError
from swarmkit.stack.envfile import kv_list_to_mapping, parse_env_file, read_env_file
from tests.stack.docker_cli import docker_stack_config

ENV = {"SET": "from-env", "EMPTYSET": "", "A": "env-a"}
NO_VARS: dict[str, str] = {}


def full_env(env: dict[str, str]) -> dict[str, str]:
    """What the CLI process sees (docker_stack_config adds PATH and HOME)."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"), **env}


def cli_environment(directory: Path, names: list[str], env: dict[str, str]) -> dict[str, str] | str:
    """The service environment the CLI builds from ``names``, or its error message."""
    stack = {"version": "3.13", "services": {"app": {"image": "nginx", "env_file": names}}}
    path = directory / "stack.yml"
    path.write_text(json.dumps(stack))
    result = docker_stack_config([path], full_env(env))
    if result.returncode != 0:
        return result.stderr.strip()
    output = yaml.load(result.stdout, Loader=yaml.BaseLoader)
    environment: dict[str, str] = output["services"]["app"].get("environment", {})
    return environment


def our_environment(directory: Path, names: list[str], env: dict[str, str]) -> dict[str, str]:
    lookup = full_env(env).get
    entries: list[str] = []
    for name in names:
        entries += parse_env_file(directory / name, lookup)
    result: dict[str, str] = {}
    for key, value in kv_list_to_mapping(entries).items():
        # The loader's rule, not the parser's: an empty value yields to the environment.
        from_env = lookup(key)
        result[key] = from_env if not value and from_env is not None else (value or "")
    return result


CASES: dict[str, tuple[bytes, dict[str, str]]] = {
    "plain": (b"B=1\nC=two words\nD=b=c\n", {"B": "1", "C": "two words", "D": "b=c"}),
    "comments-and-blank-lines": (
        b"# comment\n\n   \n\t# indented comment\nB=1 # not a comment\nC=#x\n",
        {"B": "1 # not a comment", "C": "#x"},
    ),
    "quotes-and-trailing-space-kept": (
        b"B=\"q u\"\nC='x'\nD=1  \nE=\t\nF=\n",
        {"B": '"q u"', "C": "'x'", "D": "1  ", "E": "\t", "F": ""},
    ),
    "leading-whitespace-go-style": (
        " \tB=1\n\xc2\xa0C=2\n\xe3\x80\x80D=3\n\x0bE=4\n\x0cF=5\n\x1cG=6\n\xe2\x80\x8bH=7\n".encode(
            "latin-1"
        ),
        {"B": "1", "C": "2", "D": "3", "E": "4", "F": "5", "\x1cG": "6", "\u200bH": "7"},
    ),
    "bare-names-from-environment": (
        b"SET\nUNSET\nEMPTYSET\n",
        {"SET": "from-env", "EMPTYSET": ""},
    ),
    "empty-value-yields-to-environment": (b"A=\nSET=file\n", {"A": "env-a", "SET": "file"}),
    "crlf-and-stray-cr": (
        b"B=1\r\nC=2\r\r\nD=a\rb\nE=3\r",
        {"B": "1", "C": "2\r", "D": "a\rb", "E": "3"},
    ),
    "no-final-newline": (b"B=1\nC=2", {"B": "1", "C": "2"}),
    "bom-only-on-first-line": (
        b"\xef\xbb\xbfB=1\n\xef\xbb\xbfC=2\n",
        {"B": "1", "\ufeffC": "2"},
    ),
    "duplicates-last-wins": (b"B=1\nB=2\n", {"B": "2"}),
    "odd-names-accepted": (
        "\u00c4\u00d6=\u00fc\na.b-c=1\nG\x0bH=2\nNUL=x\x00y\n".encode(),
        {"\u00c4\u00d6": "\u00fc", "a.b-c": "1", "G\x0bH": "2", "NUL": "x\x00y"},
    ),
    "longest-line": (b"B=" + b"x" * 65533 + b"\n", {"B": "x" * 65533}),
    "longest-line-with-cr": (b"B=" + b"x" * 65532 + b"\r\n", {"B": "x" * 65532}),
    "longest-last-line": (b"B=1\nC=" + b"x" * 65533, {"B": "1", "C": "x" * 65533}),
    "empty-file": (b"", {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_env_file_matches_cli(tmp_path: Path, case: str) -> None:
    content, expected = CASES[case]
    (tmp_path / "app.env").write_bytes(content)
    ours = our_environment(tmp_path, ["app.env"], ENV)
    assert ours == expected
    assert cli_environment(tmp_path, ["app.env"], ENV) == ours


def test_entries_are_kept_as_written(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_bytes(b'A=\n  B="q u"\nSET\nUNSET\nB=2\n')
    assert parse_env_file(path, ENV.get) == ["A=", 'B="q u"', "SET=from-env", "B=2"]
    assert parse_env_file(str(path), NO_VARS.get) == ["A=", 'B="q u"', "B=2"]


def test_later_files_win(tmp_path: Path) -> None:
    (tmp_path / "one.env").write_text("B=1\nC=1\n")
    (tmp_path / "two.env").write_text("B=2\n")
    ours = our_environment(tmp_path, ["one.env", "two.env"], {})
    assert ours == {"B": "2", "C": "1"}
    assert cli_environment(tmp_path, ["one.env", "two.env"], {}) == ours


# content -> the line the error is on
ERRORS: dict[str, tuple[bytes, int]] = {
    "export": (b"# setup\n\nB=1\nexport C=2\n", 4),
    "space-in-name": (b"B C=1\n", 1),
    "tab-in-name": (b"B\t=1\n", 1),
    "space-before-equals": (b"B =1\n", 1),
    "bare-name-with-trailing-space": (b"B \n", 1),
    "no-name": (b"B=1\n=x\n", 2),
    "only-equals": (b"  =\n", 1),
    "invalid-utf8": (b"B=1\nC=\xff\n", 2),
    "truncated-utf8": (b"C=\xc3\n", 1),
    "overlong-utf8": (b"C=\xc0\xaf\n", 1),
    "surrogate-utf8": (b"C=\xed\xa0\x80\n", 1),
    "invalid-utf8-in-comment": (b"# caf\xe9\n", 1),
    "line-too-long": (b"B=1\nC=" + b"x" * 65534 + b"\n", 2),
    "line-too-long-with-cr": (b"C=" + b"x" * 65533 + b"\r\n", 1),
    "last-line-too-long": (b"C=" + b"x" * 65534, 1),
    "bad-line-before-long-line": (b"B C=1\nC=" + b"x" * 70000 + b"\n", 1),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_env_file_errors_match_cli(tmp_path: Path, case: str) -> None:
    content, line = ERRORS[case]
    path = tmp_path / "app.env"
    path.write_bytes(content)
    with pytest.raises(EnvFileError) as info:
        parse_env_file(path, ENV.get)
    assert info.value.file == str(path)
    assert info.value.line == line
    assert info.value.hint
    error = cli_environment(tmp_path, ["app.env"], ENV)
    assert isinstance(error, str) and "invalid env file" in error


def test_export_hint(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text("export A=1\n")
    with pytest.raises(EnvFileError, match="variable name contains whitespace") as info:
        parse_env_file(path)
    assert "export" in (info.value.hint or "")
    assert str(info.value).startswith(f"{path}:1: ")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_file_matches_cli(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "app.env"
    if kind == "directory":
        path.mkdir()
    with pytest.raises(EnvFileError) as info:
        parse_env_file(path)
    assert info.value.file == str(path)
    assert info.value.line is None
    assert str(path) in str(info.value)
    error = cli_environment(tmp_path, ["app.env"], {})
    assert isinstance(error, str) and "app.env" in error


def test_kv_list_to_mapping() -> None:
    assert kv_list_to_mapping(["A=1", "B", "C=", "D=x=y", "A=2"]) == {
        "A": "2",
        "B": None,
        "C": "",
        "D": "x=y",
    }
    assert kv_list_to_mapping([]) == {}


def test_read_env_file(tmp_path: Path) -> None:
    path = tmp_path / "vars.env"
    path.write_bytes(b"\xef\xbb\xbf# variables\nTAG=1.2\nTAG=1.3\nQ='x'\nSET\nUNSET\n")
    assert read_env_file(path, ENV.get) == {"TAG": "1.3", "Q": "'x'", "SET": "from-env"}
    assert read_env_file(str(path), NO_VARS.get) == {"TAG": "1.3", "Q": "'x'"}
    path.write_text("A B=1\n")
    with pytest.raises(EnvFileError) as info:
        read_env_file(path)
    assert info.value.line == 1


def test_default_lookup_is_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWARMKIT_TEST_VAR", "v")
    monkeypatch.delenv("SWARMKIT_TEST_UNSET", raising=False)
    path = tmp_path / "app.env"
    path.write_text("SWARMKIT_TEST_VAR\nSWARMKIT_TEST_UNSET\n")
    assert parse_env_file(path) == ["SWARMKIT_TEST_VAR=v"]
    assert read_env_file(path) == {"SWARMKIT_TEST_VAR": "v"}


@pytest.mark.parametrize("kind", ["fifo", "zero", "oversize"])
def test_env_file_that_is_not_a_small_regular_file(tmp_path: Path, kind: str) -> None:
    from swarmkit.files import MAX_ENV_FILE

    path = tmp_path / "app.env"
    if kind == "fifo":
        os.mkfifo(path)  # no writer: a blocking open would hang here
        needle = "it is a FIFO (named pipe), not a regular file"
    elif kind == "zero":
        path = Path("/dev/zero")  # read whole, it never ends
        needle = "it is a character device, not a regular file"
    else:
        with path.open("wb") as handle:  # sparse; short lines, so only the size is wrong
            handle.truncate(MAX_ENV_FILE + 1)
        needle = "the env file is larger than 4 MiB"
    with pytest.raises(EnvFileError, match=re.escape(needle)) as info:
        parse_env_file(path)
    assert str(info.value).startswith(f"{path}: ")


def test_env_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    from swarmkit.files import MAX_ENV_FILE

    path = tmp_path / "app.env"
    line = b"A=" + b"x" * 1021 + b"\n"  # 1024 bytes
    path.write_bytes(line * (MAX_ENV_FILE // len(line)))
    assert parse_env_file(path)[-1] == line.decode().rstrip("\n")


CANARY = "hunter2-canary"


@pytest.mark.parametrize(
    "line",
    [
        f"={CANARY}".encode(),
        f"  ={CANARY}".encode(),
        f"PASSWORD {CANARY}".encode(),
        f"export A={CANARY}".encode(),
        f"A B={CANARY}".encode(),
        f"A={CANARY}".encode() + b"\xff",
        f"A={CANARY}".encode() + b"x" * 70_000,
    ],
)
def test_no_env_value_in_any_error(
    tmp_path: Path, line: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    from swarmkit.cli import main

    path = tmp_path / "app.env"
    path.write_bytes(b"OK=1\n" + line + b"\n")
    with pytest.raises(EnvFileError) as info:
        parse_env_file(path)
    assert CANARY not in str(info.value) and CANARY not in repr(info.value.args)
    assert str(info.value).startswith(f"{path}:2: ")
    # Nor in what a traceback shows, nor in any exception chained to it (even a
    # suppressed one: a UnicodeDecodeError carries the line's bytes).
    assert CANARY not in "".join(traceback.format_exception(info.value))
    chained: list[BaseException] = [info.value]
    while chained:
        exc = chained.pop()
        assert CANARY not in str(exc) and CANARY not in repr(exc)
        assert CANARY.encode() not in getattr(exc, "object", b"")
        chained += [e for e in (exc.__cause__, exc.__context__) if e is not None]
    stack = tmp_path / "stack.yml"
    stack.write_text('version: "3.8"\nservices:\n  app:\n    image: nginx\n    env_file: app.env\n')
    for argv in (
        ["config", "-c", str(stack)],
        ["config", "-c", str(stack), "--env-file", str(path)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("swarmkit: error: ") and CANARY not in err
