"""The short syntaxes of a stack file, parsed exactly as the docker CLI parses them.

``docker stack deploy`` / ``docker stack config`` (CLI v28.2.2) turn a few
compact strings into values before anything reaches the engine. These
functions reproduce those parsers, including their odd corners, so that a
stack swarmkit accepts is one the CLI accepts, with the same meaning:

* :func:`parse_duration` / :func:`format_duration`: Go's ``time.ParseDuration``
  and ``Duration.String`` (``stop_grace_period``, healthcheck and deploy
  delays), from :mod:`swarmkit.stack.golang`.
* :func:`ram_in_bytes`: go-units ``RAMInBytes`` (``deploy.resources.*.memory``).
* :func:`parse_port_spec`: the short ``ports:`` syntax.
* :func:`parse_volume_spec` and :func:`resolve_bind_source`: the short
  ``volumes:`` syntax and the CLI's later fix-up of bind sources.
* :func:`split_command`: google/shlex ``Split`` for string ``command:`` and
  ``entrypoint:``. Unlike Python's ``shlex.split``, ``#`` starts a comment (up
  to a newline) at the start of a word but not inside one, and a backslash
  inside double quotes escapes *any* character (``"a\\b"`` is ``ab``).
* :func:`normalize_extra_hosts` / :func:`parse_extra_host`: ``extra_hosts``.

The last two live in :mod:`swarmkit.stack.ports`, the duration and command
parsers in :mod:`swarmkit.stack.golang`; all are re-exported here.

Invalid input raises :class:`~swarmkit.exceptions.StackValidationError`; the
caller adds the file, line and key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from swarmkit.exceptions import StackValidationError
from swarmkit.stack.golang import (
    RANGE,
    GoNumError,
    clean_path,
    format_duration,
    parse_duration,
    parse_float,
    split_command,
)
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
_SIZE_HINT = "write a number and an optional binary unit (b, k, m, g, t, p), e.g. 512m or 1.5g"
_SIZE_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


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
        size = parse_float(number)
    except GoNumError as exc:
        problem = "too large" if exc.reason == RANGE else f"{number!r} is not a number"
        raise StackValidationError(f"invalid size {text!r}: {problem}", hint=_SIZE_HINT) from None
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
    return clean_path("/".join(part for part in (working_dir, path) if part))


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
