"""``substitute`` and ``interpolate`` compared with the real ``docker stack config``.

Every case runs the docker CLI on a stack file holding the same template and
checks that we produce the value it prints, or fail where it fails. The
expected values written here document the CLI's quirks; the CLI run proves
them.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import math
import os
import re
import struct
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmkit.exceptions import InterpolationError
from swarmkit.stack.interpolate import interpolate, substitute
from tests.stack.docker_cli import docker_stack_config

ENV = {"FOO": "hello", "EMPTY": "", "SP": "a b", "DOLLAR": "$FOO"}
NO_VARS: dict[str, str] = {}
_counter = itertools.count()


def full_env(env: dict[str, str]) -> dict[str, str]:
    """What the CLI process sees (docker_stack_config adds PATH and HOME)."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"), **env}


def run_cli(directory: Path, config: dict[str, Any], env: dict[str, str]) -> tuple[Any, str]:
    """``(output, "")`` with every scalar a string, or ``(None, stderr)`` when the CLI fails."""
    path = directory / f"stack-{next(_counter)}.yml"
    path.write_text(json.dumps(config))  # JSON is YAML, and quotes every string
    result = docker_stack_config([path], full_env(env))
    if result.returncode != 0:
        return None, result.stderr.strip()
    return yaml.load(result.stdout, Loader=yaml.BaseLoader), ""


def stack(**extra: Any) -> dict[str, Any]:
    return {"version": "3.13", "services": {"app": {"image": "nginx"}}, **extra}


def dig(data: Any, loc: tuple[str | int, ...]) -> Any:
    for part in loc:
        data = data[part]
    return data


# template -> what the CLI makes of it under ENV
VALUES = {
    "$FOO": "hello",
    "${FOO}": "hello",
    "pre-${FOO}-post": "pre-hello-post",
    "$FOO.x": "hello.x",
    "$FOO_x": "",
    "$foo": "",
    "${UNSET}": "",
    "${EMPTY}": "",
    "${UNSET:-default value}": "default value",
    "${EMPTY:-def}": "def",
    "${FOO:-def}": "hello",
    "${UNSET:-}": "",
    "${EMPTY-def}": "",
    "${UNSET-def}": "def",
    "${FOO:?}": "hello",
    "${EMPTY?}": "",
    "${SP}|$SP": "a b|a b",
    "$$": "$",
    "$$FOO": "$FOO",
    "$$$FOO": "$hello",
    "a$$b$${FOO}": "a$b${FOO}",
    "$DOLLAR": "$FOO",
    "{$FOO}": "{hello}",
    "$FOO}": "hello}",
    "${FOO}}": "hello}",
    "${_}${a1_B}": "",
    "x: ${FOO}": "x: hello",
    # a default is used as written: not unescaped, not expanded again
    "${UNSET:-a $$ b}": "a $$ b",
    "${UNSET:-$FOO}": "$FOO",
    "${UNSET:-${FOO}}": "${FOO}",
    "${FOO:-${UNSET}}": "hello}",
    # an unbraced name takes an operator too, up to the next "}"
    "$FOO-x y": "hello",
    "$UNSET-x y": "x y",
    "$UNSET:-x}y": "x}y",
    "$FOO:x": "hello:x",
    "$FOO?": "hello",
    # operators are searched in the whole expression, ":-" first, then "-"
    "${FOO?x:-y}": "y",
    "${UNSET:?must-set}": "set",
    # only the last expression's error counts
    "${} $FOO": "{} hello",
    "${UNSET:?gone} $FOO": " hello",
    # Go's case folding admits long s and the Kelvin sign in names
    "$\u017f|$\u212a": "|",
}

# template -> the variable of the error (None for an invalid template)
ERRORS: dict[str, str | None] = {
    "$": None,
    "a$": None,
    "$ x": None,
    "$1": None,
    "$-": None,
    "$$$": None,
    "${}": None,
    "${ FOO}": None,
    "${1}": None,
    "${FOO": None,
    "x${FOO": None,
    "${FOO bar}": None,
    "${FOO:x}": None,
    "${} $$": None,
    "$\u0130": None,
    "$\u0131": None,
    "${UNSET:?set UNSET}": "UNSET",
    "${UNSET?}": "UNSET",
    "${EMPTY:?no}": "EMPTY",
    "$UNSET?oops": "UNSET",
    "$FOO ${UNSET:?late}": "UNSET",
    "${UNSET:?msg} $$": "UNSET",
    "${FOO?x:?y}": "FOO?x",
}


@pytest.mark.parametrize("template", list(VALUES))
def test_value_matches_cli(tmp_path: Path, template: str) -> None:
    ours = substitute(template, full_env(ENV).get)
    assert ours == VALUES[template]
    cli, error = run_cli(tmp_path, stack(**{"x-t": {"v": template}}), ENV)
    assert error == ""
    assert cli["x-t"]["v"] == ours


def cli_error_variable(stderr: str) -> str | None:
    match = re.search(r"required variable (.*?) is missing a value", stderr)
    if match:
        return match.group(1)
    assert "invalid interpolation format" in stderr
    return None


@pytest.mark.parametrize("template", list(ERRORS))
def test_error_matches_cli(tmp_path: Path, template: str) -> None:
    with pytest.raises(InterpolationError) as info:
        substitute(template, full_env(ENV).get)
    assert info.value.variable == ERRORS[template]
    assert info.value.loc == ()
    assert info.value.hint
    _, error = run_cli(tmp_path, stack(**{"x-t": {"v": template}}), ENV)
    assert "x-t.v" in error
    assert cli_error_variable(error) == ERRORS[template]


def test_odd_names_reach_the_lookup(tmp_path: Path) -> None:
    # "${FOO?x:-y}" looks up a variable called "FOO?x", which an environment can hold.
    env = {"FOO?x": "odd", "A:?b": "also odd"}
    templates = {"v": "${FOO?x:-y}", "w": "${A:?b-c}"}
    ours = {key: substitute(value, full_env(env).get) for key, value in templates.items()}
    assert ours == {"v": "odd", "w": "also odd"}
    cli, error = run_cli(tmp_path, stack(**{"x-t": templates}), env)
    assert error == ""
    assert cli["x-t"] == ours


def test_required_message_and_hint() -> None:
    with pytest.raises(InterpolationError) as info:
        substitute("app:${TAG:?set TAG}", NO_VARS.get)
    assert info.value.message == "required variable TAG is missing a value: set TAG"
    assert info.value.hint == "set TAG in the environment or in the --env-file"
    with pytest.raises(InterpolationError) as info:
        substitute("${TAG:?}", {"TAG": ""}.get)
    assert info.value.message == "required variable TAG is missing a value"
    assert "empty" in (info.value.hint or "")


def test_invalid_message_names_the_template() -> None:
    with pytest.raises(InterpolationError) as info:
        substitute("cost: 5$", NO_VARS.get)
    assert '"cost: 5$"' in info.value.message
    assert '"$$"' in (info.value.hint or "")


def test_lookup_may_be_any_callable() -> None:
    seen: list[str] = []

    def lookup(name: str) -> str | None:
        seen.append(name)
        return name.lower() if name.isupper() else None

    assert substitute("$A ${B:-x} ${c-y}", lookup) == "a b y"
    assert seen == ["A", "B", "c"]


def test_interpolates_values_everywhere_but_keys(tmp_path: Path) -> None:
    config = stack(**{"x-top": {"$FOO": ["$FOO", 3, True, None, 1.5], "n": {"k": "${SP}"}}})
    config["services"]["app"] = {
        "image": "nginx:${TAG:-latest}",
        "command": ["echo", "$FOO"],
        "environment": {"A": "$FOO", "B": "${UNSET:-d}"},
        "labels": {"l": "$$FOO"},
        "deploy": {"labels": ["d=${SP}"]},
        "x-extra": {"k": "$FOO"},
    }
    ours = interpolate(config, full_env(ENV))
    app = ours["services"]["app"]
    assert app["image"] == "nginx:latest"
    assert ours["x-top"] == {"$FOO": ["hello", 3, True, None, 1.5], "n": {"k": "a b"}}
    cli, error = run_cli(tmp_path, config, ENV)
    assert error == ""
    cli_app = cli["services"]["app"]
    for key in ("image", "command", "environment", "labels", "x-extra"):
        assert cli_app[key] == app[key]
    assert cli_app["deploy"]["labels"] == {"d": "a b"}
    assert app["deploy"]["labels"] == ["d=a b"]
    assert cli["x-top"]["$FOO"][0] == "hello"


def test_input_is_not_modified() -> None:
    config = stack(**{"x-t": {"a": ["$FOO", {"b": "${FOO}"}]}})
    config["services"]["app"]["deploy"] = {"replicas": "${N}"}
    before = copy.deepcopy(config)
    result = interpolate(config, {"FOO": "x", "N": "2"})
    assert config == before
    assert result["services"]["app"]["deploy"]["replicas"] == 2
    assert result["x-t"] == {"a": ["x", {"b": "x"}]}


def cast_stack(value_of: dict[str, str]) -> dict[str, Any]:
    t, n, f = (value_of[key] for key in "TNF")
    app = {
        "image": "nginx",
        "read_only": t,
        "privileged": t,
        "tty": t,
        "stdin_open": t,
        "oom_score_adj": n,
        "healthcheck": {"retries": n, "disable": t},
        "deploy": {
            "replicas": n,
            "update_config": {"parallelism": n, "max_failure_ratio": f},
            "rollback_config": {"parallelism": n, "max_failure_ratio": f},
            "restart_policy": {"max_attempts": n},
            "placement": {"max_replicas_per_node": n},
        },
        "ports": [{"target": n, "published": n}],
        "ulimits": {"nproc": n, "nofile": {"soft": n, "hard": n}},
        "configs": [{"source": "c", "mode": n}],
        "secrets": [{"source": "s", "mode": n}],
        "volumes": [
            {
                "type": "volume",
                "source": "v",
                "target": "/x",
                "read_only": t,
                "volume": {"nocopy": t},
            }
        ],
    }
    return stack(
        services={"app": app},
        networks={"n": {"external": t}, "m": {"internal": t, "attachable": t}},
        volumes={"v": {"external": t}},
        secrets={"s": {"external": t}},
        configs={"c": {"external": t}},
    )


def leaves(data: Any, loc: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    if isinstance(data, dict):
        return [item for key, value in data.items() for item in leaves(value, (*loc, key))]
    if isinstance(data, list):
        return [item for index, value in enumerate(data) for item in leaves(value, (*loc, index))]
    return [(loc, data)]


def float32(value: float) -> float:
    # the CLI keeps max_failure_ratio as a float32
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


@pytest.mark.parametrize(
    "env",
    [
        {"T": "On", "N": "7", "F": "0.5"},
        {"T": "yes", "N": "+12", "F": "0x1p-2"},
        {"T": "Y", "N": "0009", "F": "1_0.5e-1"},
        {"T": "TRUE", "N": "1", "F": "0.1"},
        {"T": "off", "N": "0", "F": "0"},
    ],
)
def test_casts_match_cli(tmp_path: Path, env: dict[str, str]) -> None:
    config = cast_stack({"T": "${T}", "N": "$N", "F": "${F:-9}"})
    ours = interpolate(config, full_env(env))
    path = tmp_path / "stack.yml"
    path.write_text(json.dumps(config))
    result = docker_stack_config([path], full_env(env))
    assert result.returncode == 0, result.stderr
    cli = yaml.safe_load(result.stdout)
    checked = 0
    for loc, template in leaves(config):
        if template not in ("${T}", "$N", "${F:-9}"):
            continue
        value = dig(ours, loc)
        assert type(value) is {"${T}": bool, "$N": int, "${F:-9}": float}[template], loc
        try:
            printed = dig(cli, loc)
        except (KeyError, IndexError, TypeError):
            # the CLI leaves out false and zero values, and oom_score_adj
            assert not value or loc[-1] == "oom_score_adj", loc
            continue
        if printed == {}:  # a zero ulimit prints as an empty soft/hard pair
            assert value == 0, loc
            continue
        if isinstance(value, float):
            assert float32(printed) == float32(value), loc
        else:
            assert printed == value and type(printed) is type(value), loc
        checked += 1
    assert checked >= (20 if env["T"] != "off" else 2)


CAST_LOCS = {
    int: ("deploy", "replicas"),
    float: ("deploy", "update_config", "max_failure_ratio"),
    bool: ("read_only",),
}
CAST_TEXTS = (
    [
        (int, text)
        for text in ("0", "+3", "007", "-0", "9223372036854775807", "", "+", "1e3", "3.0", "1_0")
    ]
    + [
        (float, text)
        for text in (
            "1",
            ".5",
            "5.",
            "-0.25",
            "1E+2",
            "1e-400",
            "1_0.5",
            "0_1",
            "1e1_0",
            "0x1p-2",
            "0X_1.8P1",
            "0x.8p1",
            "0x1p1_0",
            "inf",
            "-Infinity",
            "nan",
            "1__0",
            "_1",
            "1_",
            "1_e2",
            "1._5",
            "0x10",
            "0x1_p1",
            "0b1",
            "0o7",
            "1e",
            ".",
            "",
            "+nan",
            "infin",
            "1.7976931348623159e308",
            "0x1p1024",
        )
    ]
    + [
        (bool, text)
        for text in (
            "y",
            "Y",
            "YES",
            "Yes",
            "true",
            "On",
            "n",
            "NO",
            "False",
            "oFF",
            "t",
            "1",
            "0",
            "ja",
            "",
            " true",
            "yes ",
        )
    ]
)


@pytest.mark.parametrize(("kind", "text"), CAST_TEXTS)
def test_cast_syntax_matches_cli(tmp_path: Path, kind: Any, text: str) -> None:
    loc = CAST_LOCS[kind]
    leaf: Any = "${V}"
    for part in reversed(loc):
        leaf = {part: leaf}
    config = stack()
    config["services"]["app"].update(leaf)
    value: Any = None
    with contextlib.suppress(InterpolationError):
        value = dig(interpolate(config, {"V": text}), ("services", "app", *loc))
    path = tmp_path / "stack.yml"
    path.write_text(json.dumps(config))
    result = docker_stack_config([path], full_env({"V": text}))
    if value is None:
        assert "failed to cast to expected type" in result.stderr
        return
    assert type(value) is kind
    if kind is float and not math.isfinite(value):
        assert "json: unsupported value" in result.stderr  # refused after interpolation
        return
    if kind is int and value < 0:
        assert "overflows uint" in result.stderr  # refused after interpolation
        return
    assert result.returncode == 0, result.stderr
    try:
        printed = dig(yaml.safe_load(result.stdout), ("services", "app", *loc))
    except KeyError:  # false and 0 are left out
        assert not value
        return
    if kind is float:
        assert float32(float(printed)) == float32(value)
    else:
        assert printed == value and type(printed) is kind


def test_no_cast_when_nothing_was_substituted(tmp_path: Path) -> None:
    for replicas, env in (("3", {}), ("${R}", {"R": "${R}"})):
        config = stack()
        config["services"]["app"]["deploy"] = {"replicas": replicas}
        ours = interpolate(config, env)
        assert ours["services"]["app"]["deploy"]["replicas"] == replicas
        _, error = run_cli(tmp_path, config, env)
        assert "replicas must be a integer" in error  # the schema, not interpolation, refuses it


def test_cast_depends_on_the_dotted_path(tmp_path: Path) -> None:
    config = stack(networks={"my.net": {"external": "$T"}, "n": {"external": "$T"}})
    ours = interpolate(config, {"T": "true"})
    assert ours["networks"] == {"my.net": {"external": "true"}, "n": {"external": True}}
    _, error = run_cli(tmp_path, config, {"T": "true"})
    assert "networks.my.net.external must be a boolean" in error


@pytest.mark.parametrize(
    ("loc", "value"),
    [
        (("deploy", "replicas"), "abc"),
        (("deploy", "replicas"), " 3"),
        (("deploy", "replicas"), "0x10"),
        (("deploy", "replicas"), "1_000"),
        (("deploy", "replicas"), "9223372036854775808"),
        (("deploy", "replicas"), "\u0663"),
        (("read_only",), "maybe"),
        (("tty",), "1"),
        (("deploy", "update_config", "max_failure_ratio"), "1e400"),
        (("deploy", "update_config", "max_failure_ratio"), "0x10"),
        (("deploy", "update_config", "max_failure_ratio"), "1__0"),
        (("deploy", "update_config", "max_failure_ratio"), "+NaN"),
        (("deploy", "update_config", "max_failure_ratio"), "infin"),
        (("ports", 0, "published"), "80:80"),
    ],
)
def test_cast_failures_match_cli(tmp_path: Path, loc: tuple[str | int, ...], value: str) -> None:
    leaf: Any = "${V}"
    for part in reversed(loc):
        leaf = [leaf] if isinstance(part, int) else {part: leaf}
    config = stack()
    config["services"]["app"].update(leaf)
    with pytest.raises(InterpolationError) as info:
        interpolate(config, {"V": value})
    assert info.value.loc == ("services", "app", *loc)
    assert info.value.variable is None
    _, error = run_cli(tmp_path, config, {"V": value})
    assert "failed to cast to expected type" in error


def test_cast_of_a_dollar_escape(tmp_path: Path) -> None:
    config = stack()
    config["services"]["app"]["deploy"] = {"replicas": "1$$"}
    with pytest.raises(InterpolationError, match='"1\\$\\$" is not an integer after interpolation'):
        interpolate(config, {})
    _, error = run_cli(tmp_path, config, {})
    assert 'parsing "1$"' in error


def test_error_carries_loc_and_no_file() -> None:
    config = stack()
    config["services"]["app"]["ports"] = ["${P:?no port}"]
    with pytest.raises(InterpolationError) as info:
        interpolate(config, {})
    error = info.value
    assert error.loc == ("services", "app", "ports", 0)
    assert error.variable == "P"
    assert error.file is None and error.line is None
    assert str(error) == (
        "services.app.ports[0]: required variable P is missing a value: no port "
        "(set P in the environment or in the --env-file)"
    )


def test_first_error_in_document_order() -> None:
    config = {"a": "${A:?first}", "b": ["${B:?second}"]}
    with pytest.raises(InterpolationError) as info:
        interpolate(config, {})
    assert info.value.variable == "A"


# Templates for the property test: raw text over the brief's alphabet, and
# sequences of the tokens that make up expressions, so both junk and nearly
# valid expressions come up.
_ALPHABET = "${}:-? abZ_"
_TOKENS = ["$", "$$", "${", "}", ":-", "-", ":?", "?", ":", "a", "b", "ab", "Z", " ", "_"]
TEMPLATES = st.one_of(
    st.text(_ALPHABET, max_size=10),
    st.lists(st.sampled_from(_TOKENS), max_size=8).map("".join),
)
PROPERTY_ENV = {"a": "x", "b": "", "ab": "y y", "Z": "$a"}


@settings(max_examples=60, deadline=None)
@given(st.lists(TEMPLATES, min_size=1, max_size=8))
def test_property_matches_cli(
    tmp_path_factory: pytest.TempPathFactory, templates: list[str]
) -> None:
    directory = tmp_path_factory.mktemp("property", numbered=True)
    lookup = full_env(PROPERTY_ENV).get
    named = {f"v{index}": template for index, template in enumerate(templates)}
    good: dict[str, str] = {}
    bad: dict[str, str | None] = {}
    for key, template in named.items():
        try:
            good[key] = substitute(template, lookup)
        except InterpolationError as exc:
            bad[key] = exc.variable
    if good:
        # One run for all the values we accept: the CLI must accept them all too.
        values = {key: named[key] for key in good}
        cli, error = run_cli(directory, stack(**{"x-t": values}), PROPERTY_ENV)
        assert error == "", values
        assert cli["x-t"] == good
    for key, variable in bad.items():
        # The CLI stops at its first error, so each refused value needs its own run.
        _, error = run_cli(directory, stack(**{"x-t": {key: named[key]}}), PROPERTY_ENV)
        assert f"x-t.{key}" in error
        assert cli_error_variable(error) == variable
