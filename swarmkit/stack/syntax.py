"""The short syntaxes of a stack file, parsed exactly as the docker CLI parses them.

``docker stack deploy`` / ``docker stack config`` (CLI v28.2.2) turn a few
compact strings into values before anything reaches the engine. These
functions reproduce those parsers, including their odd corners, so that a
stack swarmkit accepts is one the CLI accepts, with the same meaning:

* :func:`parse_duration` / :func:`format_duration`: Go's ``time.ParseDuration``
  and ``Duration.String`` (``stop_grace_period``, healthcheck and deploy delays).
* :func:`ram_in_bytes`: go-units ``RAMInBytes`` (``deploy.resources.*.memory``).
* :func:`parse_port_spec`: the short ``ports:`` syntax.
* :func:`parse_volume_spec` and :func:`resolve_bind_source`: the short
  ``volumes:`` syntax and the CLI's later fix-up of bind sources.
* :func:`split_command`: google/shlex ``Split`` for string ``command:`` and
  ``entrypoint:``. Unlike Python's ``shlex.split``, ``#`` starts a comment (up
  to a newline) at the start of a word but not inside one, and a backslash
  inside double quotes escapes *any* character (``"a\\b"`` is ``ab``).
* :func:`normalize_extra_hosts` / :func:`parse_extra_host`: ``extra_hosts``.

The last two live in :mod:`swarmkit.stack.ports` and are re-exported here.

Invalid input raises :class:`~swarmkit.exceptions.StackValidationError`; the
caller adds the file, line and key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from swarmkit.exceptions import StackValidationError
from swarmkit.stack.ports import normalize_extra_hosts, parse_extra_host, parse_port_spec

__all__ = [
    "format_duration",
    "normalize_extra_hosts",
    "parse_duration",
    "parse_extra_host",
    "parse_port_spec",
    "parse_volume_spec",
    "ram_in_bytes",
    "resolve_bind_source",
    "split_command",
]

_MAX = 1 << 63
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_HINT = "write a number and a unit (ns, us, ms, s, m, h), e.g. 10s or 1m30s"


def parse_duration(text: str) -> int:
    """Go ``time.ParseDuration``: ``"1m30s"`` -> 90_000_000_000 (nanoseconds).

    A signed sequence of decimal numbers, each with an optional fraction and a
    unit (``ns us µs ms s m h``); ``"0"`` alone needs no unit. The result must
    fit in an int64.
    """
    invalid = StackValidationError(f"invalid duration {text!r}", hint=_DURATION_HINT)
    rest, negative = text, False
    if rest[:1] in ("-", "+"):
        negative, rest = rest[0] == "-", rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise invalid
    total = 0
    while rest:
        match = re.match(r"([0-9]*)(?:\.([0-9]*))?", rest)
        assert match is not None
        whole, frac = match.group(1), match.group(2)
        if not whole and not frac:
            raise invalid
        rest = rest[match.end() :]
        unit_match = re.match(r"[^0-9.]*", rest)
        assert unit_match is not None
        unit = unit_match.group()
        rest = rest[len(unit) :]
        if not unit:
            raise StackValidationError(f"missing unit in duration {text!r}", hint=_DURATION_HINT)
        if unit not in _UNITS:
            raise StackValidationError(
                f"unknown unit {unit!r} in duration {text!r}", hint=_DURATION_HINT
            )
        value = int(whole) if whole else 0
        if value > _MAX // _UNITS[unit]:
            raise invalid
        value *= _UNITS[unit]
        numerator, scale = _leading_fraction(frac or "")
        if numerator:
            # Go goes through float64 here; the truncation is part of the result.
            value += int(float(numerator) * (float(_UNITS[unit]) / scale))
            if value > _MAX:
                raise invalid
        total += value
        if total > _MAX:
            raise invalid
    if negative:
        return -total
    if total >= _MAX:
        raise invalid
    return total


def _leading_fraction(digits: str) -> tuple[int, float]:
    # Digits past uint64 precision are read but no longer counted.
    value, scale = 0, 1.0
    for char in digits:
        nxt = value * 10 + int(char)
        if value > (_MAX - 1) // 10 or nxt > _MAX:
            break
        value, scale = nxt, scale * 10
    return value, scale


def format_duration(ns: int) -> str:
    """Go ``time.Duration.String``: 90_000_000_000 -> ``"1m30s"``, 0 -> ``"0s"``."""
    sign = "-" if ns < 0 else ""
    magnitude = abs(ns)
    if magnitude < 1_000_000_000:
        if magnitude == 0:
            return "0s"
        for size, unit, digits in ((1_000_000, "ms", 6), (1_000, "\u00b5s", 3), (1, "ns", 0)):
            if magnitude >= size:
                return sign + _fixed(magnitude, digits) + unit
    seconds, minutes = _fixed(magnitude % 60_000_000_000, 9) + "s", magnitude // 60_000_000_000
    if not minutes:
        return sign + seconds
    hours, minutes = divmod(minutes, 60)
    return sign + (f"{hours}h" if hours else "") + f"{minutes}m" + seconds


def _fixed(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    tail = f"{frac:0{digits}d}".rstrip("0") if digits else ""
    return f"{whole}.{tail}" if tail else str(whole)


_SIZE_HINT = "write a number and an optional binary unit (b, k, m, g, t, p), e.g. 512m or 1.5g"
_SIZE_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_GO_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GO_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+")


def _underscores_ok(text: str) -> bool:
    # strconv's rule: '_' only between digits, or right after a 0x/0b/0o prefix.
    body = text[1:] if text[:1] in ("+", "-") else text
    saw, start, hexa = "^", 0, False
    if len(body) >= 2 and body[0] == "0" and body[1] in "xXbBoO":
        saw, start, hexa = "0", 2, body[1] in "xX"
    for char in body[start:]:
        if "0" <= char <= "9" or (hexa and char in "abcdefABCDEF"):
            saw = "0"
        elif char == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def _go_parse_float(text: str) -> float:
    # Go's strconv.ParseFloat takes Go literal syntax only: hex floats need a
    # 'p' exponent, and no spaces or Unicode digits, unlike Python's float().
    plain = text.replace("_", "")
    if plain != text and not _underscores_ok(text):
        raise ValueError("invalid syntax")
    if _GO_HEX.fullmatch(plain):
        return float.fromhex(plain)
    if _GO_DECIMAL.fullmatch(plain):
        value = float(plain)
        if value in (float("inf"), float("-inf")):
            raise OverflowError("value out of range")
        return value
    raise ValueError("invalid syntax")


def ram_in_bytes(text: str) -> int:
    """go-units ``RAMInBytes``: ``"512m"`` -> 536870912, ``"1.5GB"`` -> 1610612736.

    Units are binary and case-insensitive, with an optional ``b``/``ib``
    (``k``, ``kb``, ``kib``); one space may sit before the unit. Fractions are
    truncated; like the CLI on x86-64, sizes of 2**63 bytes or more wrap to
    ``-2**63``.
    """
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep < 0:
        raise StackValidationError(f"invalid size {text!r}: no number", hint=_SIZE_HINT)
    number = text[:sep] if text[sep] == " " else text[: sep + 1]
    suffix = text[sep + 1 :]
    try:
        size = _go_parse_float(number)
    except OverflowError:
        raise StackValidationError(f"invalid size {text!r}: too large", hint=_SIZE_HINT) from None
    except ValueError:
        raise StackValidationError(
            f"invalid size {text!r}: {number!r} is not a number", hint=_SIZE_HINT
        ) from None
    if size < 0:
        raise StackValidationError(f"invalid size {text!r}: it is negative", hint=_SIZE_HINT)
    if suffix:
        lowered = suffix.lower()
        unit, tail = lowered[:1], lowered[1:]
        # The length limit counts UTF-8 bytes before lowering, as in Go.
        if len(suffix.encode("utf-8", "surrogatepass")) > 3 or not (
            (unit == "b" and not tail) or (unit in _SIZE_UNITS and tail in ("", "b", "ib"))
        ):
            raise StackValidationError(
                f"invalid size {text!r}: unknown unit {suffix!r}", hint=_SIZE_HINT
            )
        size *= _SIZE_UNITS.get(unit, 1)
    # float64 -> int64 on x86-64 yields the "integer indefinite" value.
    return int(size) if size < _MAX else -_MAX


_PROPAGATIONS = frozenset({"rprivate", "private", "rshared", "shared", "rslave", "slave"})
_VOLUME_HINT = "use [SOURCE:]TARGET[:OPTIONS], e.g. data:/var/lib/data or ./conf:/etc/app:ro"


def parse_volume_spec(text: str) -> dict[str, Any]:
    """cli/compose/loader ``ParseVolume``: one short ``volumes:`` entry in long form.

    Returns ``{"type": "volume"|"bind", "source": str, "target": str,
    "read_only": bool}`` plus ``"bind": {"propagation": p}`` and/or
    ``"volume": {"nocopy": True}`` when those options are given. Bind sources
    are returned as written; see :func:`resolve_bind_source`.
    """
    if not text:
        raise StackValidationError("invalid empty volume spec", hint=_VOLUME_HINT)
    result: dict[str, Any] = {"type": "volume", "source": "", "target": "", "read_only": False}
    # Specs of one or two *bytes* are taken whole as the target ("a:" too).
    if len(text.encode("utf-8", "surrogatepass")) <= 2:
        result["target"] = text
        return result
    buffer = ""
    # A NUL ends a field just like the end of the string does: the CLI uses
    # NUL as its end marker and never checks that the spec holds none.
    for char in text + "\0":
        if char == ":" and len(buffer) == 1 and buffer.isalpha():
            # Any single letter before a colon is taken for a Windows drive,
            # so "v:/data" is one field, not source "v" and target "/data".
            buffer += char
        elif char in ":\0":
            _volume_field(result, buffer, char, text)
            buffer = ""
        else:
            buffer += char
    source = result["source"]
    if source and (
        source[0] in "./~"
        or source.startswith("\\\\")
        or (len(source) > 1 and source[1] == ":" and source[0].isalpha())
    ):
        result["type"] = "bind"
    return result


def _volume_field(result: dict[str, Any], field: str, char: str, spec: str) -> None:
    if not field:
        raise StackValidationError(
            f"invalid volume spec {spec!r}: empty section between colons", hint=_VOLUME_HINT
        )
    if not result["source"] and char == "\0":
        result["target"] = field
    elif not result["source"]:
        result["source"] = field
    elif not result["target"]:
        result["target"] = field
    elif char == ":":
        raise StackValidationError(
            f"invalid volume spec {spec!r}: too many colons", hint=_VOLUME_HINT
        )
    else:
        # Unknown options (z, cached, delegated...) are dropped silently.
        for option in field.split(","):
            if option in ("ro", "rw"):
                result["read_only"] = option == "ro"
            elif option == "nocopy":
                result["volume"] = {"nocopy": True}
            elif option in _PROPAGATIONS:
                result["bind"] = {"propagation": option}


def resolve_bind_source(source: str, working_dir: str, environ: Mapping[str, str]) -> str:
    """Make a bind source absolute the way the CLI's ``resolveVolumePaths`` does.

    A leading ``~`` is replaced by ``environ["HOME"]`` (only the ``~``, so
    ``~user/x`` becomes ``$HOME + "user/x"``; left alone when HOME is unset).
    Paths that are then neither POSIX- nor Windows-absolute are joined to
    ``working_dir`` and cleaned like Go's ``filepath.Join``.
    """
    if not source:
        raise StackValidationError(
            'invalid mount config for type "bind": field Source must not be empty',
            hint="give the bind mount a source path",
        )
    path = source
    if path.startswith("~") and "HOME" in environ:
        path = path.replace("~", environ["HOME"], 1)
    if path.startswith("/") or _is_windows_abs(path):
        return path
    return _go_clean("/".join(part for part in (working_dir, path) if part))


def _is_windows_abs(path: str) -> bool:
    def slash(char: str) -> bool:
        return char in "\\/"

    size = 0
    if len(path) >= 2 and path[1] == ":" and path[0].isascii() and path[0].isalpha():
        size = 2
    elif len(path) >= 5 and slash(path[0]) and slash(path[1]) and path[2] not in "\\/.":
        # UNC: \\server\share, where the share must not start with '.'.
        end = next((n for n in range(3, len(path) - 1) if slash(path[n])), None)
        if end is not None and not slash(path[end + 1]) and path[end + 1] != ".":
            size = next((n for n in range(end + 1, len(path)) if slash(path[n])), len(path))
    return size > 0 and len(path) > size and slash(path[size])


def _go_clean(path: str) -> str:
    # Go's path.Clean; posixpath.normpath differs by keeping a leading "//".
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part != "..":
            parts.append(part)
        elif parts and parts[-1] != "..":
            parts.pop()
        elif not rooted:
            parts.append(part)
    cleaned = ("/" if rooted else "") + "/".join(parts)
    return cleaned or "."


_COMMAND_HINT = "close the quote or escape, or write the command as a YAML list"


def split_command(text: str) -> list[str]:
    """google/shlex ``Split``, which the CLI applies to string commands.

    Words split on space, tab, CR and LF; single quotes are literal; a
    backslash escapes the next character outside quotes and inside double
    quotes alike; ``#`` at the start of a word comments out the rest of the
    line. ``"a 'b c'"`` -> ``["a", "b c"]``.
    """
    words: list[str] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos == end:
            return words
        if text[pos] == "#":
            newline = text.find("\n", pos)
            if newline < 0:
                return words
            pos = newline + 1
            continue
        word: list[str] = []
        while pos < end and text[pos] not in " \t\r\n":
            char = text[pos]
            if char == "'":
                close = text.find("'", pos + 1)
                if close < 0:
                    raise _unclosed(text)
                word.append(text[pos + 1 : close])
                pos = close + 1
            elif char == '"':
                pos += 1
                while pos < end and text[pos] != '"':
                    if text[pos] == "\\":
                        pos += 1
                        if pos == end:
                            break
                    word.append(text[pos])
                    pos += 1
                if pos == end:
                    raise _unclosed(text)
                pos += 1
            elif char == "\\":
                if pos + 1 == end:
                    raise StackValidationError(
                        f"invalid command {text!r}: it ends with an escape character",
                        hint=_COMMAND_HINT,
                    )
                word.append(text[pos + 1])
                pos += 2
            else:
                word.append(char)
                pos += 1
        words.append("".join(word))


def _unclosed(text: str) -> StackValidationError:
    return StackValidationError(
        f"invalid command {text!r}: a quote is not closed", hint=_COMMAND_HINT
    )
