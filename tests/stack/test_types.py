"""Go's unsigned fields and redefined anchors, checked against ``docker stack config``."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmkit.exceptions import StackValidationError
from tests.stack.oracle import run_both, write_files

SERVICE = 'version: "3.8"\nservices:\n  web:\n    image: nginx:1\n'
CONFIG = "configs:\n  c:\n    file: ./stack.yml\n"

# Each is a field the CLI decodes into a Go uint64 or uint32.
NEGATIVE = {
    "replicas": "    deploy:\n      replicas: -1\n",
    "parallelism": "    deploy:\n      update_config:\n        parallelism: -1\n",
    "max_attempts": "    deploy:\n      restart_policy:\n        max_attempts: -1\n",
    "max_replicas_per_node": "    deploy:\n      placement:\n        max_replicas_per_node: -1\n",
    "retries": "    healthcheck:\n      test: [CMD, x]\n      retries: -1\n",
    "retries-fraction": "    healthcheck:\n      test: [CMD, x]\n      retries: -0.5\n",
    "config-mode": "    configs:\n      - source: c\n        mode: -1\n" + CONFIG,
    "port-target": "    ports:\n      - target: -1\n        published: 80\n",
}


@pytest.mark.parametrize("body", NEGATIVE.values(), ids=NEGATIVE.keys())
def test_a_negative_unsigned_number_is_refused_like_the_cli(tmp_path: Path, body: str) -> None:
    outcome = run_both(write_files(tmp_path, {"stack.yml": SERVICE + body}))
    error = outcome.assert_refused_by_both()
    assert "overflows uint" in outcome.cli_error
    assert isinstance(error, StackValidationError)
    assert error.line is not None
    assert "must be 0 or more" in error.message


@pytest.mark.parametrize(
    "body",
    [
        "    deploy:\n      replicas: 18446744073709551615\n",
        "    deploy:\n      replicas: 2.0\n",
        "    healthcheck:\n      test: [CMD, x]\n      retries: 2.5\n",
        "    configs:\n      - source: c\n        mode: 0440\n" + CONFIG,
        "    ports:\n      - target: 8080\n        published: 80\n",
    ],
    ids=["uint64-max", "whole-float", "fraction-dropped", "octal-mode", "port"],
)
def test_unsigned_numbers_in_range_agree_with_the_cli(tmp_path: Path, body: str) -> None:
    outcome = run_both(write_files(tmp_path, {"stack.yml": SERVICE + body}))
    assert not outcome.cli_error and outcome.our_error is None
    outcome.assert_same()


@pytest.mark.parametrize(
    "body",
    [
        "    deploy:\n      replicas: 18446744073709551616\n",
        "    deploy:\n      replicas: 123456789012345678901234567890\n",
        "    healthcheck:\n      test: [CMD, x]\n      retries: 1e30\n",
    ],
    ids=["uint64-max+1", "30-digits", "float-1e30"],
)
def test_past_uint64_swarmkit_refuses_what_the_cli_turns_into_2_63(
    tmp_path: Path, body: str
) -> None:
    # Deliberately stricter (docs/stack-reference.md): the CLI's float-to-uint64
    # conversion overflows and stores 9223372036854775808, a number the file never said.
    outcome = run_both(write_files(tmp_path, {"stack.yml": SERVICE + body}))
    assert not outcome.cli_error
    assert "9223372036854775808" in str(outcome.cli)
    assert outcome.our_error is not None
    assert "must be at most 18446744073709551615" in outcome.our_error.message


def test_a_config_mode_past_uint32_is_refused_not_wrapped(tmp_path: Path) -> None:
    body = "    configs:\n      - source: c\n        mode: 5000000000\n" + CONFIG
    outcome = run_both(write_files(tmp_path, {"stack.yml": SERVICE + body}))
    assert outcome.cli["services"]["web"]["configs"][0]["mode"] == 5000000000 % 2**32
    assert outcome.our_error is not None
    assert "must be at most 4294967295" in outcome.our_error.message


def test_an_unsigned_error_does_not_repeat_an_environment_value(tmp_path: Path) -> None:
    body = "    deploy:\n      replicas: ${REPLICAS}\n"
    outcome = run_both(
        write_files(tmp_path, {"stack.yml": SERVICE + body}), {"REPLICAS": "-987654"}
    )
    error = outcome.assert_refused_by_both()
    assert "987654" not in str(error)


def test_an_anchor_defined_again_means_the_latest_definition(tmp_path: Path) -> None:
    text = (
        'version: "3.8"\n'
        "x-a: &img\n  image: nginx:1\n"
        "x-b: &img\n  image: nginx:2\n"
        "services:\n"
        "  web:\n    <<: *img\n"
        "  api:\n    image: nginx:3\n    labels: &img [a=b]\n"
        "  worker:\n    image: nginx:4\n    labels: *img\n"
    )
    outcome = run_both(write_files(tmp_path, {"stack.yml": text}))
    assert not outcome.cli_error and outcome.our_error is None
    outcome.assert_same()
    assert outcome.ours["services"]["web"]["image"] == "nginx:2"
    assert outcome.ours["services"]["worker"]["labels"] == {"a": "b"}
