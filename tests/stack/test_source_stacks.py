"""The source dissertation's own stacks: merged like the CLI, and linted for its weaknesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmkit.exceptions import StackValidationError
from swarmkit.stack import hash_names, lint_stack, load_stack, render_stack
from tests.stack.docker_cli import docker_stack_config
from tests.stack.oracle import run_both

SOURCE = Path(__file__).resolve().parent / "fixtures" / "source"
ENV = {"API_IMAGE_URI": "registry.example.com/dipcode/exampleapp"}

COMBINATIONS = [
    ["chapter4/stack.yml"],
    ["chapter4/stack.yml", "chapter4/stack.staging.yml"],
    ["chapter4/stack.yml", "chapter4/stack.production.yml"],
    ["chapter4/stack.yml", "chapter4/stack.staging.yml", "chapter4/stack.production.yml"],
    ["chapter3/stack.yml"],
    ["chapter3/stack.yml", "chapter3/stack.production.yml"],
]


@pytest.mark.parametrize("files", COMBINATIONS, ids="+".join)
def test_source_stacks_merge_like_the_cli(files: list[str]) -> None:
    outcome = run_both([SOURCE / name for name in files], ENV)
    assert not outcome.cli_error, outcome.cli_error
    assert outcome.our_error is None, outcome.our_error
    assert outcome.ours == outcome.cli


@pytest.mark.parametrize("files", COMBINATIONS, ids="+".join)
def test_rendered_source_stacks_are_accepted(tmp_path: Path, files: list[str]) -> None:
    stack = load_stack(*(SOURCE / name for name in files), environ=ENV)
    if tuple(map(int, stack.version.split("."))) >= (3, 5):
        stack = hash_names(stack, "exampleapp")
    else:
        with pytest.raises(StackValidationError, match=r"3\.5 or later"):
            hash_names(stack, "exampleapp")
    rendered = tmp_path / "stack.yml"
    rendered.write_text(render_stack(stack))
    result = docker_stack_config([rendered])
    assert result.returncode == 0, result.stderr
    assert load_stack(rendered, environ={}) == stack


def test_lint_finds_the_weaknesses_the_source_names() -> None:
    stack = load_stack(
        SOURCE / "chapter4/stack.yml", SOURCE / "chapter4/stack.production.yml", environ=ENV
    )
    found = {(f.code, f.service) for f in lint_stack(stack)}
    assert ("SK101", "app") in found  # ${API_IMAGE_TAG:-latest}: a `latest` tag
    assert ("SK301", "app") in found  # capabilities not dropped
    assert ("SK402", "db") in found  # database volume, no placement constraint
    assert ("SK401", "db") not in found  # restart on failure only: right for a database
