"""Env files (``env_file:``, ``--env-file``), read exactly as the docker CLI (v28.2.2) reads them.

The format is the CLI's ``kvfile`` one, and much plainer than a shell's:

* the file must be a regular file of at most 4 MiB (a limit the CLI does not
  have; it keeps a wrong path such as ``/dev/zero`` from filling memory);
* the file must be valid UTF-8; a byte order mark at its start is dropped;
* lines end at ``\\n`` (one ``\\r`` before it is dropped too), and a line may
  hold at most 65535 bytes;
* leading whitespace is dropped, then empty lines and lines starting with
  ``#`` are skipped; a ``#`` later in the line is part of the value;
* ``NAME=VALUE`` is taken as is: no quote removal, no escapes, no ``$``
  expansion, trailing whitespace kept (``A="q u"`` is ``"q u"`` with quotes);
* a bare ``NAME`` takes its value from the environment, and is dropped when
  the variable is unset;
* a name must be non-empty and hold no space or tab (so ``export A=1`` is an
  error); anything else, even ``.`` or ``-``, is accepted.

Every problem raises :class:`~swarmkit.exceptions.EnvFileError` naming the
file and, for a bad line, its 1-based line number.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from swarmkit.exceptions import EnvFileError
from swarmkit.files import MAX_ENV_FILE, read_bounded

__all__ = ["env_file_lines", "kv_list_to_mapping", "parse_env_file", "read_env_file"]

# bufio.Scanner's default limit: a line (with any "\r") and its "\n" must fit
# in 64 KiB.
_MAX_LINE = 64 * 1024 - 1

# Go's unicode.IsSpace, which differs from str.isspace (that one also takes
# the ASCII separators \x1c-\x1f).
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_BOM = b"\xef\xbb\xbf"


def _split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines[-1] == b"":
        # A final "\n" does not start another line, and an empty file has none.
        lines.pop()
    return lines


def parse_env_file(
    path: str | os.PathLike[str], lookup: Callable[[str], str | None] = os.environ.get
) -> list[str]:
    """The ``NAME=VALUE`` entries of the env file at ``path``, in file order.

    A bare ``NAME`` line becomes ``NAME=<lookup(NAME)>``, or is dropped when
    ``lookup`` returns ``None``; the default looks in the process environment,
    as the CLI does. Duplicates are kept (the caller lets the last one win).
    Raises :class:`~swarmkit.exceptions.EnvFileError` when the file cannot be
    read or a line is invalid.
    """
    return [entry for _, entry in _numbered_entries(path, lookup)]


def env_file_lines(path: str | os.PathLike[str]) -> dict[str, int]:
    """The line each variable of the env file at ``path`` is last set on: name -> line.

    Bare ``NAME`` lines count, whatever the environment holds; lint findings
    about a variable read from an ``env_file`` point there. Raises
    :class:`~swarmkit.exceptions.EnvFileError` as :func:`parse_env_file` does.
    """
    return {
        entry.partition("=")[0]: number
        for number, entry in _numbered_entries(path, lambda name: "")
    }


def _numbered_entries(
    path: str | os.PathLike[str], lookup: Callable[[str], str | None]
) -> list[tuple[int, str]]:
    """:func:`parse_env_file`'s entries, each with the number of its line."""
    file = os.fspath(path)
    data = read_bounded(file, MAX_ENV_FILE, what="env file", error=EnvFileError)

    entries: list[tuple[int, str]] = []
    for number, raw in enumerate(_split_lines(data), start=1):
        if len(raw) > _MAX_LINE:
            # The CLI stops reading here, after the lines above were accepted.
            raise EnvFileError(
                f"line is {len(raw)} bytes long; the docker CLI reads at most {_MAX_LINE}",
                file=file,
                line=number,
                hint="shorten the line or pass the value another way",
            )
        content = raw[:-1] if raw.endswith(b"\r") else raw
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None:
            # Raised outside the except block: even a suppressed context would
            # keep the UnicodeDecodeError, which holds the line's bytes (a value).
            raise EnvFileError(
                "invalid UTF-8", file=file, line=number, hint="save the file as UTF-8"
            )
        if number == 1 and content.startswith(_BOM):
            text = text[1:]
        line = text.lstrip(_GO_SPACE)
        if not line or line.startswith("#"):
            continue
        name, equals, _ = line.partition("=")
        if not name:
            # The rest of the line is a value, maybe a secret: never echo it.
            raise EnvFileError(
                "no variable name before the '='",
                file=file,
                line=number,
                hint="write NAME=VALUE",
            )
        if " " in name or "\t" in name:
            hint = "write NAME=VALUE, with no spaces or tabs in NAME"
            if name.startswith(("export ", "export\t")):
                hint = "drop the 'export': env files are not shell scripts"
            # Not echoed: without a "=" the whole line, maybe a value, is the "name".
            raise EnvFileError(
                "the variable name contains whitespace", file=file, line=number, hint=hint
            )
        if equals:
            entries.append((number, line))
            continue
        value = lookup(name)
        if value is not None:
            entries.append((number, f"{name}={value}"))
    return entries


def kv_list_to_mapping(entries: list[str]) -> dict[str, str | None]:
    """``["A=1", "B"]`` -> ``{"A": "1", "B": None}``; the last entry of a name wins.

    An entry without ``=`` maps to ``None`` ("mentioned, no value"), which is
    not the same as ``"B="`` (the empty string).
    """
    result: dict[str, str | None] = {}
    for entry in entries:
        name, equals, value = entry.partition("=")
        result[name] = value if equals else None
    return result


def read_env_file(
    path: str | os.PathLike[str], lookup: Callable[[str], str | None] = os.environ.get
) -> dict[str, str]:
    """The variables of an env file given with ``--env-file``: name -> value.

    Lines are read as :func:`parse_env_file` reads them (a bare ``NAME`` takes
    its value from ``lookup``, the process environment by default); when a
    name appears twice the later line wins.
    """
    result: dict[str, str] = {}
    for entry in parse_env_file(path, lookup):
        name, _, value = entry.partition("=")
        result[name] = value
    return result
