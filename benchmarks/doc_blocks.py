"""The generated blocks of docs/benchmarks.md: each script replaces its own.

A block sits between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; the
text around it is written by hand. A missing block is appended, under
``heading`` when one is given. The file is written atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def replace_block(name: str, block: str, *, heading: str = "", doc: Path = DOC) -> None:
    """Put ``block`` between the markers of ``name`` in ``doc``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = doc.read_text()
    if begin not in text or end not in text:
        title = f"{heading}\n\n" if heading else ""
        text = text.rstrip("\n") + f"\n\n{title}{begin}\n{end}\n"
    start, stop = text.index(begin) + len(begin), text.index(end)
    text = text[:start] + "\n" + block + "\n" + text[stop:]
    # Standard library only: the benchmarks run before swarmkit is importable, too.
    handle, temporary = tempfile.mkstemp(dir=doc.parent, prefix=f".{doc.name}.")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temporary, doc)
