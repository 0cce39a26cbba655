"""Go's parsing and formatting, as the docker CLI applies them to stack files.

One home for every Go standard-library rule that a stack file's meaning
depends on, so that each is written once:

* :func:`parse_float` / :func:`format_float`: ``strconv.ParseFloat(s, 64)``
  and ``strconv.FormatFloat(f, 'g', -1, 64)``, which is also ``fmt.Sprint``
  of a float64 and how the CLI's YAML encoder prints a float.
* :func:`atoi` / :func:`parse_uint`: ``strconv.Atoi`` (64 bits) and
  ``strconv.ParseUint(s, 10, bits)``. A digit string of any length is refused
  with a :class:`GoNumError`, never with Python's own "exceeds the limit"
  ``ValueError``.
* :func:`parse_duration` / :func:`format_duration`: ``time.ParseDuration``
  and ``time.Duration.String``.
* :func:`clean_path`: ``path.Clean``.
* :func:`split_command`: google/shlex ``Split``, which the CLI applies to
  string ``command:`` and ``entrypoint:``. Unlike Python's ``shlex.split``,
  ``#`` starts a comment (up to the end of the line) and a backslash escapes
  inside double quotes too.

The number parsers raise :class:`GoNumError` (a ``ValueError``) that names only
the reason, never the text, which may hold an environment value; callers turn
it into a :class:`~swarmkit.exceptions.SwarmkitError` with the file, line and
key. The others raise :class:`~swarmkit.exceptions.StackValidationError`.
"""

from __future__ import annotations

import decimal
import math
import re

from swarmkit.exceptions import StackValidationError

__all__ = [
    "RANGE",
    "SYNTAX",
    "GoNumError",
    "atoi",
    "clean_path",
    "format_duration",
    "format_float",
    "parse_duration",
    "parse_float",
    "parse_uint",
    "split_command",
]

SYNTAX = "invalid syntax"
RANGE = "value out of range"


class GoNumError(ValueError):
    """``strconv.NumError`` without the input: ``reason`` is SYNTAX or RANGE."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# 2**64 has 20 digits: a longer digit string (leading zeros aside) is out of
# range for any Go integer, and is never handed to Python's int().
_MAX_DIGITS = 20


def _digits_value(text: str, limit: int) -> int:
    # Go stops at the first digit that overflows, so an overflowing prefix is a
    # range error even when a bad character follows it.
    end = 0
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    prefix = text[:end].lstrip("0")
    if len(prefix) > _MAX_DIGITS or (prefix and int(prefix) > limit):
        raise GoNumError(RANGE)
    if end == 0 or end != len(text):
        raise GoNumError(SYNTAX)
    return int(prefix or "0")


def parse_uint(text: str, bits: int = 64) -> int:
    """``strconv.ParseUint(text, 10, bits)``: ASCII digits only, no sign, no ``_``."""
    return _digits_value(text, (1 << bits) - 1)


def atoi(text: str) -> int:
    """``strconv.Atoi`` on 64 bits: ``"-12"`` -> -12; ``"1_0"`` and ``" 1"`` are refused."""
    negative = text[:1] == "-"
    body = text[1:] if text[:1] in ("+", "-") else text
    magnitude = _digits_value(body, (1 << 63) if negative else (1 << 63) - 1)
    return -magnitude if negative else magnitude


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Go's hexadecimal floats need the 'p' exponent; Python's float.fromhex does not.
_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+")
_INFINITY = re.compile(r"[+-]?inf(?:inity)?", re.IGNORECASE | re.ASCII)


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


def parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)``.

    Go literal syntax only: hex floats need a ``p`` exponent, ``_`` only
    between digits, no spaces or non-ASCII digits (unlike Python's
    ``float()``); also ``inf``/``infinity`` with an optional sign and ``nan``
    without one, in any case. A finite literal too large for a float64 is a
    RANGE error; one too small is 0.
    """
    if _INFINITY.fullmatch(text):
        return -math.inf if text[0] == "-" else math.inf
    if text.lower() == "nan":
        return math.nan
    plain = text.replace("_", "")
    if plain != text and not _underscores_ok(text):
        raise GoNumError(SYNTAX)
    try:
        if _HEX.fullmatch(plain):
            value = float.fromhex(plain)
        elif _DECIMAL.fullmatch(plain):
            value = float(plain)
        else:
            raise GoNumError(SYNTAX)
    except OverflowError:
        value = math.inf
    if math.isinf(value):
        raise GoNumError(RANGE)
    return value


def format_float(value: float) -> str:
    """``strconv.FormatFloat(value, 'g', -1, 64)``: the shortest digits that read back.

    The exponent form is used when the decimal exponent is below -4 or 6 or
    more: ``2.0`` -> ``"2"``, ``1e6`` -> ``"1e+06"``, ``0.00001`` -> ``"1e-05"``,
    ``-0.0`` -> ``"-0"``, infinity -> ``"+Inf"``.
    """
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    # repr() is Python's shortest round-trip form, the same digits as Go's.
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(str(d) for d in digits)
    exp = len(text) - 1 + exponent
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{prefix}0.{'0' * (-exp - 1)}{text}"
    if len(text) <= exp + 1:
        return prefix + text + "0" * (exp + 1 - len(text))
    return f"{prefix}{text[: exp + 1]}.{text[exp + 1 :]}"


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
        if len(whole.lstrip("0")) > 19:
            raise invalid  # more than int64 nanoseconds; int() would refuse 4300 digits
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


def clean_path(path: str) -> str:
    """Go's ``path.Clean``: ``"a//b/../c/."`` -> ``"a/c"``, ``""`` -> ``"."``.

    Unlike :func:`posixpath.normpath`, a leading ``"//"`` becomes ``"/"``.
    """
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
