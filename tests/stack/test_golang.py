"""swarmkit.stack.golang against Go's documented behaviour (strconv, time, path, shlex).

The cases come from the Go standard library's own tests and docs (atof_test,
atoi_test, ftoa_test, time's duration tests, path's clean tests) and from
google/shlex's test string; a few run through ``docker stack config`` itself.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from swarmkit.exceptions import InterpolationError, StackValidationError
from swarmkit.stack import load_stack, render_stack
from swarmkit.stack.golang import (
    RANGE,
    SYNTAX,
    GoNumError,
    atoi,
    clean_path,
    format_duration,
    format_float,
    parse_duration,
    parse_float,
    parse_uint,
    split_command,
)
from tests.stack.docker_cli import docker_stack_config

HUGE = "9" * 5000  # more digits than Python's int() takes from a string


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1.0),
        ("+1", 1.0),
        ("-1", -1.0),
        ("1e23", 1e23),
        ("1E23", 1e23),
        ("100000000000000000000000", 1e23),
        ("1e-100", 1e-100),
        ("625e-3", 0.625),
        ("1.", 1.0),
        (".5", 0.5),
        ("1_23.50_0_0e+1_2", 1.235e14),
        ("0x1p0", 1.0),
        ("0x1.8p1", 3.0),
        ("0X1P-2", 0.25),
        ("0x_1p0", 1.0),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("1e-400", 0.0),  # underflow is 0, not an error
        ("0." + "0" * 5000 + "1", 0.0),
        ("1" + "0" * 400 + "e-400", 1.0),
    ],
)
def test_parse_float_accepts_go_literals(text: str, value: float) -> None:
    assert parse_float(text) == value


def test_parse_float_keeps_the_sign_of_zero() -> None:
    assert math.copysign(1.0, parse_float("-0")) == -1.0


@pytest.mark.parametrize(
    ("text", "value"),
    [("inf", math.inf), ("+Inf", math.inf), ("-INFINITY", -math.inf), ("infinity", math.inf)],
)
def test_parse_float_reads_infinity_in_any_case(text: str, value: float) -> None:
    assert parse_float(text) == value


@pytest.mark.parametrize("text", ["nan", "NaN", "NAN"])
def test_parse_float_reads_nan_without_a_sign(text: str) -> None:
    assert math.isnan(parse_float(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "1e",
        ".",
        "e1",
        "0x1",  # Go's hex floats need the p exponent; Python's fromhex does not
        "0x1.8",
        "0b1",
        "1__2",
        "_1",
        "1_",
        "1_.5",
        "1e_5",
        "+nan",
        "infinity5",
        "inff",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: Python's float() takes it, Go does not
        "1,5",
    ],
)
def test_parse_float_refuses_what_go_refuses(text: str) -> None:
    with pytest.raises(GoNumError) as caught:
        parse_float(text)
    assert caught.value.reason == SYNTAX


@pytest.mark.parametrize(
    "text", ["1e309", "1.7976931348623159e308", "0x1p1024", "-1e400", HUGE + "e" + HUGE]
)
def test_parse_float_overflow_is_a_range_error(text: str) -> None:
    with pytest.raises(GoNumError) as caught:
        parse_float(text)
    assert caught.value.reason == RANGE
    assert text not in str(caught.value)  # the input may be an environment value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (2.0, "2"),
        (100.0, "100"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (1e23, "1e+23"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.5e300, "1.5e+300"),
        (5e-324, "5e-324"),
        (-2.5, "-2.5"),
        (0.0, "0"),
        (-0.0, "-0"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_format_float_is_strconv_g_shortest(value: float, text: str) -> None:
    assert format_float(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("-0", 0),
        ("+5", 5),
        ("-12", -12),
        ("0" * 5000 + "1", 1),  # leading zeros do not count against the range
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_atoi(text: str, value: int) -> None:
    assert atoi(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", SYNTAX),
        ("-", SYNTAX),
        ("+", SYNTAX),
        (" 1", SYNTAX),
        ("1_000", SYNTAX),  # Atoi is base 10: no "_" separators
        ("0x10", SYNTAX),
        ("1.0", SYNTAX),
        ("\u0661", SYNTAX),
        ("9223372036854775808", RANGE),
        ("-9223372036854775809", RANGE),
        (HUGE, RANGE),
        ("-" + HUGE, RANGE),
        ("99999999999999999999x", RANGE),  # Go stops at the digit that overflows
    ],
)
def test_atoi_refuses(text: str, reason: str) -> None:
    with pytest.raises(GoNumError) as caught:
        atoi(text)
    assert caught.value.reason == reason


def test_parse_uint_16_bits() -> None:
    assert parse_uint("65535", 16) == 65535
    assert parse_uint("00080", 16) == 80
    for text, reason in (("65536", RANGE), (HUGE, RANGE), ("-1", SYNTAX), ("+1", SYNTAX)):
        with pytest.raises(GoNumError) as caught:
            parse_uint(text, 16)
        assert caught.value.reason == reason


_SECOND = 1_000_000_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("5s", 5 * _SECOND),
        ("-5s", -5 * _SECOND),
        ("+5s", 5 * _SECOND),
        ("-0", 0),
        ("+0", 0),
        ("5.6s", 5 * _SECOND + 600_000_000),
        ("5.s", 5 * _SECOND),
        (".5s", _SECOND // 2),
        ("1.004s", 1_004_000_000),
        ("100.00100s", 100_001_000_000),
        ("10ns", 10),
        ("11us", 11_000),
        ("12\u00b5s", 12_000),
        ("12\u03bcs", 12_000),
        ("13ms", 13_000_000),
        ("15m", 15 * _MINUTE),
        ("16h", 16 * _HOUR),
        ("3h30m", 3 * _HOUR + 30 * _MINUTE),
        ("10.5s4m", 4 * _MINUTE + 10 * _SECOND + _SECOND // 2),
        ("-2m3.4s", -(2 * _MINUTE + 3 * _SECOND + 400_000_000)),
        ("1h2m3s4ms5us6ns", _HOUR + 2 * _MINUTE + 3 * _SECOND + 4_005_006),
        ("39h9m14.425s", 39 * _HOUR + 9 * _MINUTE + 14_425_000_000),
        ("0.3333333333333333333h", 20 * _MINUTE),
        ("9007199254740993ns", (1 << 53) + 1),
        ("9223372036854775807ns", 2**63 - 1),
        ("9223372036854775.807us", 2**63 - 1),
        ("9223372036s854ms775us807ns", 2**63 - 1),
        ("-9223372036854775808ns", -(2**63)),
        ("0.100000000000000000000h", 6 * _MINUTE),
        ("0.830103483285477580700h", 49 * _MINUTE + 48 * _SECOND + 372_539_827),
    ],
)
def test_parse_duration_as_go(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    "text",
    [
        "",
        "3",
        "-",
        "s",
        ".",
        "-.",
        ".s",
        "+.s",
        "1d",
        "9223372036854775808ns",
        "9223372036854775.808us",
        "-9223372036854775809ns",
        HUGE + "s",  # int() alone would raise its own digit-limit ValueError
        "1." + HUGE + "s" + HUGE + "h",
    ],
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(StackValidationError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_100, "1.1\u00b5s"),
        (2_200_000, "2.2ms"),
        (3_300_000_000, "3.3s"),
        (4 * _MINUTE + 5 * _SECOND, "4m5s"),
        (4 * _MINUTE + 5_001_000_000, "4m5.001s"),
        (5 * _HOUR + 6 * _MINUTE + 7_001_000_000, "5h6m7.001s"),
        (8 * _MINUTE + 1, "8m0.000000001s"),
        (2**63 - 1, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"),
    ],
)
def test_format_duration_as_go(ns: int, text: str) -> None:
    assert format_duration(ns) == text


@pytest.mark.parametrize(
    ("path", "clean"),
    [
        ("", "."),
        ("abc", "abc"),
        ("abc/def", "abc/def"),
        (".", "."),
        ("..", ".."),
        ("../..", "../.."),
        ("../../abc", "../../abc"),
        ("/abc", "/abc"),
        ("/", "/"),
        ("abc/", "abc"),
        ("/abc/", "/abc"),
        ("//abc", "/abc"),  # posixpath.normpath keeps "//abc"
        ("///abc", "/abc"),
        ("//abc//", "/abc"),
        ("abc//def//ghi", "abc/def/ghi"),
        ("abc/./def", "abc/def"),
        ("/./abc/def", "/abc/def"),
        ("abc/.", "abc"),
        ("abc/def/ghi/../jkl", "abc/def/jkl"),
        ("abc/def/../ghi/../jkl", "abc/jkl"),
        ("abc/def/..", "abc"),
        ("abc/def/../..", "."),
        ("/abc/def/../..", "/"),
        ("abc/def/../../..", ".."),
        ("/abc/def/../../..", "/"),
        ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
        ("abc/./../def", "def"),
        ("abc//./../def", "def"),
        ("abc/../../././../def", "../../def"),
    ],
)
def test_clean_path_as_go(path: str, clean: str) -> None:
    assert clean_path(path) == clean


def test_split_command_google_shlex_test_string() -> None:
    text = (
        'one two "three four" "five \\"six\\"" seven#eight # nine # ten\n'
        " eleven 'twelve\\' thirteen=13 fourteen/14"
    )
    assert split_command(text) == [
        "one",
        "two",
        "three four",
        'five "six"',
        "seven#eight",
        "eleven",
        "twelve\\",
        "thirteen=13",
        "fourteen/14",
    ]


@pytest.mark.parametrize("text", ["a 'b", 'a "b', "a \\"])
def test_split_command_refuses_unclosed(text: str) -> None:
    with pytest.raises(StackValidationError):
        split_command(text)


# --- the callers: each used to have its own rule, or Python's ---------------


def _stack(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "stack.yml"
    path.write_text('version: "3.8"\nservices:\n  app:\n    image: nginx\n' + body)
    return path


def test_huge_port_number_is_a_stack_error(tmp_path: Path) -> None:
    path = _stack(tmp_path, f'    ports: ["{HUGE}:80"]\n')
    with pytest.raises(StackValidationError) as caught:
        load_stack(str(path))
    assert "limit" not in str(caught.value)
    assert "invalid published port" in str(caught.value)


def test_huge_duration_is_a_stack_error(tmp_path: Path) -> None:
    path = _stack(tmp_path, f"    stop_grace_period: {HUGE}s\n")
    with pytest.raises(StackValidationError) as caught:
        load_stack(str(path))
    assert "limit" not in str(caught.value)


def _memory(tmp_path: Path, value: str) -> Path:
    return _stack(
        tmp_path, f'    deploy:\n      resources:\n        limits:\n          memory: "{value}"\n'
    )


@pytest.mark.parametrize("value", ["inf ", "nan "])
def test_memory_reads_infinity_as_the_cli_does(tmp_path: Path, value: str) -> None:
    # go-units hands "inf" to strconv.ParseFloat, which reads it; int64(+Inf)
    # on x86-64 is -2**63. The size parser used to refuse it.
    path = _memory(tmp_path, value)
    stack = load_stack(str(path))
    assert stack.services["app"].deploy is not None
    limits = stack.services["app"].deploy.resources.limits
    assert limits is not None and limits.memory == -(2**63)
    result = docker_stack_config([path])
    assert result.returncode == 0, result.stderr
    assert 'memory: "-9223372036854775808"' in result.stdout


_FLOATS = "[2.0, 1e20, 1000000.0, 123456.0, 0.0001, 0.00001, 1.5e300, -0.0, 1e-320, 0.1]"


def test_floats_render_as_the_cli_prints_them(tmp_path: Path) -> None:
    path = _stack(
        tmp_path,
        "    deploy:\n      update_config:\n        max_failure_ratio: 0.00001\n"
        f"x-floats: {_FLOATS}\n",
    )
    ours = render_stack(load_stack(str(path)))
    assert "max_failure_ratio: 1e-05\n" in ours
    result = docker_stack_config([path])
    assert result.returncode == 0, result.stderr
    # Indentation of lists differs (documented); the scalars must not.
    ours_lines = [line.strip() for line in ours.splitlines()]
    cli_lines = [line.strip() for line in result.stdout.splitlines()]
    assert ours_lines == cli_lines
    assert "- 1e+20" in cli_lines and "- 2" in cli_lines


def test_rendered_floats_load_back_to_the_same_values(tmp_path: Path) -> None:
    # -0.0 is left out: the CLI prints it "-0", which any YAML reader takes for 0.
    path = _stack(tmp_path, f"x-floats: {_FLOATS.replace(' -0.0,', '')}\n")
    stack = load_stack(str(path))
    again = tmp_path / "again.yml"
    again.write_text(render_stack(stack))
    assert render_stack(load_stack(str(again))) == render_stack(stack)


def test_version_rule_is_the_same_for_files_and_models(tmp_path: Path) -> None:
    from swarmkit.stack import Stack

    for raw in ("3", ""):
        path = tmp_path / "v.yml"
        path.write_text(f'version: "{raw}"\nservices: {{}}\n')
        assert load_stack(str(path)).version == Stack(version=raw).version == "3.13"


def _imports(module: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_model_and_render_do_not_import_each_other() -> None:
    # Any import, at module or function level: the cycle used to hide in to_yaml().
    stack_dir = Path(__file__).resolve().parents[2] / "swarmkit" / "stack"
    assert "swarmkit.stack.render" not in _imports(stack_dir / "model.py")
    assert "swarmkit.stack.model" not in _imports(stack_dir / "output.py")
    assert "swarmkit.stack.render" not in _imports(stack_dir / "output.py")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (HUGE, "out of range"),
        ("1_000", "not an integer"),
        ("99999999999999999999x", "out of range"),
    ],
)
def test_interpolated_integer_is_read_as_atoi(tmp_path: Path, value: str, words: str) -> None:
    path = _stack(tmp_path, "    deploy:\n      replicas: ${N}\n")
    with pytest.raises(InterpolationError) as caught:
        load_stack(str(path), environ={"N": value})
    assert words in str(caught.value)
    assert value not in str(caught.value)  # no environment value in a message
    result = docker_stack_config([path], {"N": value})
    assert result.returncode != 0
    assert ("value out of range" if words == "out of range" else "invalid syntax") in result.stderr


def test_split_command_matches_docker_stack_config(tmp_path: Path) -> None:
    path = _stack(
        tmp_path,
        "    command: 'run \"a\\b\" x#y ''q w'' #note'\n"
        '    entrypoint: "sh -c \\"echo \\\\\\"hi\\\\\\"\\"\\n# c\\n z"\n',
    )
    service = load_stack(str(path)).services["app"]
    assert service.command == ["run", "ab", "x#y", "q w"]
    assert service.entrypoint == ["sh", "-c", 'echo "hi"', "z"]
    result = docker_stack_config([path])
    assert result.returncode == 0, result.stderr
    cli = [line.strip() for line in result.stdout.splitlines()]
    assert cli[cli.index("command:") + 1 : cli.index("command:") + 5] == [
        "- run",
        "- ab",
        "- x#y",
        "- q w",
    ]
    assert cli[cli.index("entrypoint:") + 1 : cli.index("entrypoint:") + 5] == [
        "- sh",
        "- -c",
        '- echo "hi"',
        "- z",
    ]
