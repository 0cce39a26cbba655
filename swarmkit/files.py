"""Reading files with a size limit, and writing them so that readers never see half of one.

Every file swarmkit reads because an input names it (a stack file, an env
file, a config or secret hashed by ``--hash-names``) goes through
:func:`read_bounded`: a wrong path such as ``/dev/zero`` or a FIFO must give one
line of error, not fill memory or hang.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from swarmkit.exceptions import StackError, StackFileError, SwarmkitError

__all__ = [
    "MAX_CONFIG_FILE",
    "MAX_ENV_FILE",
    "MAX_SECRET_FILE",
    "MAX_STACK_FILE",
    "read_bounded",
    "read_stream_bounded",
    "write_atomically",
]

# The largest file of each kind swarmkit reads. Swarm itself refuses configs
# over 1000 KiB and secrets over 500 KiB (SwarmKit's MaxConfigSize and
# MaxSecretSize), so hashing a larger one is pointless; stack and env files
# have no limit in the docker CLI, and these are far beyond any real one.
MAX_STACK_FILE = 16 * 1024 * 1024
MAX_ENV_FILE = 4 * 1024 * 1024
MAX_CONFIG_FILE = 1000 * 1024
MAX_SECRET_FILE = 500 * 1024

_CHUNK = 64 * 1024


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _too_large(what: str, limit: int) -> str:
    return f"the {what} is larger than {_size(limit)}, the most swarmkit reads for one"


def read_stream_bounded(
    stream: BinaryIO,
    limit: int,
    *,
    what: str,
    name: str,
    error: type[StackError] = StackFileError,
    key_path: str | None = None,
) -> bytes:
    """At most ``limit`` bytes of ``stream`` (standard input, say), read in chunks.

    Reads one byte past ``limit`` to tell a file of exactly ``limit`` bytes
    from a larger one, so memory stays bounded whatever the stream holds.
    Raises ``error`` (a :class:`StackError` subclass) naming ``name``.
    """
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    raise error(
        _too_large(what, limit),
        file=name,
        key_path=key_path,
        hint="check that the path names the right file",
    )


def read_bounded(
    path: str | os.PathLike[str],
    limit: int,
    *,
    what: str,
    error: type[StackError] = StackFileError,
    key_path: str | None = None,
) -> bytes:
    """The bytes of the regular file at ``path``, refused when larger than ``limit``.

    ``what`` names the kind of file in messages ("env file", "stack file").
    A FIFO, device, socket or directory is refused before anything is read
    (opened non-blocking, so a FIFO without a writer cannot hang us), and the
    size is checked before reading and again while reading, in case the file
    grows. Raises ``error`` (a :class:`StackError` subclass) naming the file.
    """
    name = os.fspath(path)
    hint = "check that the file exists and is readable"
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        message = f"cannot read the {what}: {exc.strerror or exc}"
        raise error(message, file=name, key_path=key_path, hint=hint) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise error(
            f"cannot read the {what}: it is {_kind_of(info.st_mode)}, not a regular file",
            file=name,
            key_path=key_path,
            hint="give the path of a regular file",
        )
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if info.st_size > limit:
            raise error(
                _too_large(what, limit),
                file=name,
                key_path=key_path,
                hint="check that the path names the right file",
            )
        try:
            return read_stream_bounded(
                handle, limit, what=what, name=name, error=error, key_path=key_path
            )
        except OSError as exc:
            message = f"cannot read the {what}: {exc.strerror or exc}"
            raise error(message, file=name, key_path=key_path, hint=hint) from None


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    The file is either the old one or the whole new one, never a mix: the
    temporary file sits in the same directory (so the rename is atomic), is
    flushed to disk, then replaces ``path``. Raises :class:`SwarmkitError`
    naming the path when it cannot be written.
    """
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise SwarmkitError(
            f"cannot write {target}: {exc.strerror or exc}",
            hint="check that the directory exists and is writable",
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise SwarmkitError(f"cannot write {target}: {exc.strerror or exc}") from None
