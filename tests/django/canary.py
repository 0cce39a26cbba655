"""A canary secret value, and the one assertion that it leaked nowhere.

"Nowhere" is every text a user, a log shipper or an error tracker could show:
the exception's ``str`` and ``repr`` and ``args``, every exception of its
``__cause__``/``__context__`` chain (walked even when ``from None`` hides it:
a debugger, Sentry's "locals" or ``exc.__context__`` still reach it), the
traceback ``traceback.format_exception`` prints, and every log record
(message, arguments and formatted traceback).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable

CANARY = "hunter2-canary"


def exception_texts(exc: BaseException) -> list[str]:
    """Every text ``exc`` and the exceptions chained to it could show."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        texts += [repr(value) for value in vars(current).values()]
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return texts


def record_texts(records: Iterable[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter()
    texts = []
    for record in records:
        texts += [record.getMessage(), repr(record.args), formatter.format(record)]
        if record.exc_info and record.exc_info[1] is not None:
            texts += exception_texts(record.exc_info[1])
    return texts


def assert_hidden(
    *,
    exc: BaseException | None = None,
    records: Iterable[logging.LogRecord] = (),
    texts: Iterable[str] = (),
    canary: str = CANARY,
) -> None:
    """Fail naming the first text that shows ``canary``."""
    everything = list(texts) + record_texts(records)
    if exc is not None:
        everything += exception_texts(exc)
    for text in everything:
        assert canary not in text, f"the canary leaked into: {text[:500]!r}"
