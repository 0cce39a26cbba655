"""Writing files so that readers never see half of one (stdlib only)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from swarmkit.exceptions import SwarmkitError

__all__ = ["write_atomically"]


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
