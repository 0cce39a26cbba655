"""Field types shared by the stack models: Go-compatible scalars and short syntaxes.

The docker CLI turns the loose YAML of a stack file into Go values with a few
transforms (lists or mappings for labels, a string or a list for a command,
``10s`` for durations). These annotated types apply the same transforms when
a model is validated, so that a model always holds the long, normalised form
the CLI prints with ``docker stack config``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, PlainSerializer

from swarmkit.exceptions import StackValidationError
from swarmkit.stack import syntax
from swarmkit.stack.golang import format_duration, format_float, parse_duration, split_command

__all__ = [
    "Count",
    "Duration",
    "FileMode",
    "HostsList",
    "Labels",
    "MappingWithEquals",
    "Number",
    "PortNumber",
    "ShellCommand",
    "StringList",
    "StringMapping",
    "StringOrNumberList",
    "UnitBytes",
    "UnsignedCount",
    "UnsignedNumber",
    "checked",
    "go_sprint",
]

T = TypeVar("T")


def checked(parse: Callable[[Any], T]) -> Callable[[Any], T]:
    """Turn our StackValidationError into the ValueError pydantic attaches a loc to."""

    def run(value: Any) -> T:
        try:
            return parse(value)
        except StackValidationError as exc:
            raise ValueError(exc.message) from None

    return run


def go_sprint(value: Any) -> str:
    """``fmt.Sprint`` of a value go-yaml decoded: how the CLI stringifies scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, dt.datetime):
        # Go's Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST"; a zone
        # parsed from a numeric offset has that offset as its name.
        offset = value.utcoffset() or dt.timedelta()
        minutes = int(offset.total_seconds()) // 60
        numeric = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        frac = f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
        zone = "UTC" if value.tzinfo is dt.UTC else numeric
        return f"{value.strftime('%Y-%m-%d %H:%M:%S')}{frac} {numeric} {zone}"
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted((go_sprint(k), go_sprint(v)) for k, v in value.items())
        return "map[" + " ".join(f"{k}:{v}" for k, v in items) + "]"
    if value is None:
        return "<nil>"
    return str(value)


def _mapping_value(key: Any, value: Any, allow_nil: bool) -> str | None:
    # The schema allows strings, numbers and null; the CLI then stringifies.
    if isinstance(value, bool | list | dict):
        raise ValueError(
            f"the value of {key!r} must be a string, number or null, got {value!r} (quote it)"
        )
    if value is None:
        return None if allow_nil else ""
    return go_sprint(value)


def _mapping(sep: str, allow_nil: bool) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): _mapping_value(k, v, allow_nil) for k, v in value.items()}
        if isinstance(value, list):
            result: dict[str, str | None] = {}
            for entry in value:
                if not isinstance(entry, str):
                    raise ValueError(f"list entries must be strings, got {entry!r}")
                key, found, val = entry.partition(sep)
                result[key] = val if found else (None if allow_nil else "")
            return result
        return value

    return parse


def _string_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _string_or_number_list(value: Any) -> Any:
    if isinstance(value, list):
        return [go_sprint(v) for v in value]
    return value


def _shell_command(value: Any) -> Any:
    if isinstance(value, str):
        return split_command(value)
    return value


def _duration(value: Any) -> Any:
    if isinstance(value, dt.timedelta):
        return format_duration(
            value.days * 86_400_000_000_000
            + value.seconds * 1_000_000_000
            + value.microseconds * 1000
        )
    if isinstance(value, str):
        return format_duration(parse_duration(value))
    raise ValueError(f"a duration must be a string such as '10s' or '1m30s', got {value!r}")


def _unit_bytes(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"a size must be a string such as '512M', got {value!r}")
    if isinstance(value, str):
        return syntax.ram_in_bytes(value)
    return value


def _hosts_list(value: Any) -> Any:
    if isinstance(value, dict | list):
        return syntax.normalize_extra_hosts(value)
    return value


def _whole(value: Any) -> Any:
    # JSON schema "integer" accepts 2.0; the CLI then decodes it as 2.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _truncated(value: Any) -> Any:
    # Schema "number" fields that Go decodes into integers: 2.5 becomes 2.
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_whole)]
"""An integer; a whole float (``2.0``) is accepted, as the CLI accepts it."""


def _unsigned(convert: Callable[[Any], Any], bits: int) -> Callable[[Any], Any]:
    top = (1 << bits) - 1

    def run(value: Any) -> Any:
        # The CLI decodes these into Go's uint64/uint32 and refuses a negative
        # number ("-1 overflows uint"), a fraction included. Past the top it
        # silently stores 2**63 (a float's overflowing conversion) or wraps, so
        # swarmkit refuses instead of deploying a number the file never said.
        # The value is not repeated: it may come from the environment.
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value < 0:
                raise ValueError("must be 0 or more (the docker CLI refuses a negative number)")
            if value > top:
                raise ValueError(f"must be at most {top}")
        return convert(value)

    return run


UnsignedCount = Annotated[int, BeforeValidator(_unsigned(_whole, 64))]
"""A Go ``uint64`` (``replicas``, ``parallelism``): 0 to 2**64-1, a whole float accepted."""

UnsignedNumber = Annotated[int, BeforeValidator(_unsigned(_truncated, 64))]
"""A Go ``uint64`` the schema types as a number (``retries``): a fraction is dropped."""

FileMode = Annotated[int, BeforeValidator(_unsigned(_truncated, 32))]
"""A Go ``uint32`` file mode (``mode`` of a secret or config reference)."""

PortNumber = Annotated[int, BeforeValidator(_unsigned(_whole, 32))]
"""A Go ``uint32`` port (long-form ``target`` and ``published``)."""

Number = Annotated[int, BeforeValidator(_truncated)]
"""An integer the schema types as a number: a fraction is dropped, like the CLI."""

Duration = Annotated[str, BeforeValidator(checked(_duration))]
"""A Go duration, held in Go's canonical spelling (``1m30s``); accepts timedelta."""

UnitBytes = Annotated[
    int,
    BeforeValidator(checked(_unit_bytes)),
    PlainSerializer(str, return_type=str, when_used="json"),
]
"""A size in bytes; accepts ``512M``-style strings (binary units, like the CLI)."""

StringList = Annotated[list[str], BeforeValidator(_string_list)]
"""A list of strings that may be written as one string."""

StringOrNumberList = Annotated[list[str], BeforeValidator(_string_or_number_list)]
"""A list whose numbers are kept as their decimal strings (``expose``)."""

ShellCommand = Annotated[list[str], BeforeValidator(checked(_shell_command))]
"""A command: a list, or a string split like a POSIX shell would."""

Labels = Annotated[dict[str, str], BeforeValidator(_mapping("=", allow_nil=False))]
"""``KEY=value`` list or mapping; a bare key means the empty string."""

MappingWithEquals = Annotated[dict[str, str | None], BeforeValidator(_mapping("=", allow_nil=True))]
"""``KEY=value`` list or mapping; a bare key (``None``) takes its value from the environment."""

StringMapping = Annotated[dict[str, str], BeforeValidator(_mapping("=", allow_nil=False))]
"""A mapping of option names to strings (numbers are written out, like the CLI)."""

HostsList = Annotated[list[str], BeforeValidator(checked(_hosts_list))]
"""``host:ip`` entries, from a list (``=`` or ``:``) or a mapping."""
