"""``swarmkit --help`` and every ``COMMAND --help``: plain text, every option explained."""

from __future__ import annotations

import argparse
import re

import pytest

from swarmkit.cli import build_parser, main

# reStructuredText roles and literals, which a terminal shows as they are.
RST = re.compile(r"``|:(class|func|mod|meth|attr|data|exc):`")


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*path, name))
    return found


def parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = sub.choices[name]
    return parser


ALL = commands(build_parser())


def test_every_command_is_listed() -> None:
    names = {path[0] for path in ALL if path}
    assert {
        "config",
        "lint",
        "deploy",
        "rollback",
        "status",
        "logs",
        "gc",
        "top",
        "secret",
    } <= names
    assert {("secret", "create"), ("secret", "ls"), ("secret", "rotate")} <= set(ALL)


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "swarmkit")
def test_every_option_and_argument_has_help(path: tuple[str, ...]) -> None:
    parser = parser_of(path)
    assert parser.description, f"swarmkit {' '.join(path)} --help has no description"
    for action in parser._actions:
        name = "/".join(action.option_strings) or str(action.metavar or action.dest)
        assert action.help and action.help.strip(), f"swarmkit {' '.join(path)}: {name} has no help"


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "swarmkit")
def test_help_is_plain_text(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: swarmkit {' '.join(path)}".rstrip())
    assert not RST.search(text), text
