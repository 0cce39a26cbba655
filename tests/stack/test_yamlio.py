"""The YAML reader against ``docker stack config``: alias limits and merge keys."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from swarmkit.exceptions import StackSyntaxError
from swarmkit.stack.yamlio import load_yaml
from tests.stack.docker_cli import docker_stack_config
from tests.stack.oracle import run_both, write_files


def _aliased_document(base: int, fan: int, levels: int, merges: int, deep_map: bool) -> str:
    lines = ['version: "3.8"', "x-a0: &a0 [" + ",".join(["x"] * base) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"x-a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * fan) + "]")
    values = [f"*a{levels}" if deep_map else str(j) for j in range(4)]
    lines.append("x-m: &m {" + ", ".join(f"k{j}: {v}" for j, v in enumerate(values)) + "}")
    lines += [f"x-u{j}: {{<<: *m, e: {j}}}" for j in range(merges)]
    lines.append("services:\n  web:\n    image: nginx:1")
    return "\n".join(lines) + "\n"


# Small and large fan-outs, with and without merge keys: many of these sit
# near go-yaml's alias ratio (99% of values from aliases up to 400,000).
CASES = [
    case
    for case in itertools.product([1, 8], [2, 3, 6, 9], [2, 3, 4, 5], [0, 10, 300], [True])
    if case[0] * case[1] ** case[2] * 5 <= 200_000
] + [(1, 5, 4, 0, False), (1, 10, 3, 0, False), (50, 10, 2, 0, False), (3, 30, 2, 0, False)]


def test_the_alias_cases_include_both_outcomes(tmp_path: Path) -> None:
    refused = 0
    for case in CASES[:: max(1, len(CASES) // 12)]:
        path = tmp_path / "stack.yml"
        path.write_text(_aliased_document(*case))
        refused += docker_stack_config([path]).returncode != 0
    assert 0 < refused < len(CASES[:: max(1, len(CASES) // 12)])


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_excessive_aliasing_is_refused_exactly_where_the_cli_refuses_it(
    tmp_path: Path, case: tuple[int, int, int, int, bool]
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(_aliased_document(*case))
    cli = docker_stack_config([path])
    try:
        load_yaml(path.read_text(), "stack.yml")
    except StackSyntaxError as exc:
        assert "document contains excessive aliasing" in cli.stderr, exc.message
        assert exc.message == "document contains excessive aliasing"
        assert exc.file == "stack.yml" and exc.line is not None
    else:
        assert cli.returncode == 0, cli.stderr


MERGES = {
    "own-key-wins": "x-a: &a {image: 'nginx:1', hostname: a}\n"
    "services:\n  web:\n    <<: *a\n    image: 'nginx:2'\n",
    "first-source-wins": "x-a: &a {image: 'nginx:1'}\nx-b: &b {image: 'nginx:2', hostname: b}\n"
    "services:\n  web:\n    <<: [*a, *b]\n",
    "nested-merge": "x-a: &a {image: 'nginx:1', hostname: a}\nx-b: &b {<<: *a, hostname: b}\n"
    "services:\n  web:\n    <<: *b\n",
    "inline-source": "services:\n  web:\n    <<: {image: 'nginx:1', hostname: c}\n    hostname: d\n",
    "merge-before-own-keys": "x-a: &a {image: 'nginx:1'}\n"
    "services:\n  web:\n    hostname: e\n    <<: *a\n",
}


@pytest.mark.parametrize("text", MERGES.values(), ids=MERGES.keys())
def test_merge_keys_give_what_the_cli_gives(tmp_path: Path, text: str) -> None:
    outcome = run_both(write_files(tmp_path, {"stack.yml": 'version: "3.8"\n' + text}))
    assert not outcome.cli_error and outcome.our_error is None
    outcome.assert_same()


@pytest.mark.parametrize("value", ["1", "[1]", "[*s]", "*s"])
def test_a_merge_of_anything_but_mappings_is_refused_like_the_cli(
    tmp_path: Path, value: str
) -> None:
    text = f'version: "3.8"\nx-s: &s [a]\nservices:\n  web:\n    image: x\n    <<: {value}\n'
    outcome = run_both(write_files(tmp_path, {"stack.yml": text}))
    error = outcome.assert_refused_by_both()
    assert "map merge requires map or sequence of maps" in outcome.cli_error
    assert error.message == "map merge requires map or sequence of maps as the value"
