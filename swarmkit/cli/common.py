"""What the command modules share: exit codes, the parser class, common options."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, NoReturn

__all__ = [
    "EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_MIXED", "EXIT_OK", "Commands", "Parser",
    "add_stack_files", "duration",
]  # fmt: skip

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
#: A rollback (Swarm's after a failed deploy, or swarmkit rollback's) paused,
#: cannot pull the previous image or timed out: neither release runs in full.
EXIT_MIXED = 3


class Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"swarmkit: error: {message} (see {self.prog} --help)\n")


if TYPE_CHECKING:
    #: What ``add_subparsers`` returns: each command module adds its commands to it.
    Commands = argparse._SubParsersAction[Parser]
else:
    Commands = argparse._SubParsersAction


def add_stack_files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--compose-file",
        dest="files",
        action="append",
        required=True,
        metavar="FILE",
        help="stack file; repeat to merge overlays in order ('-' reads stdin)",
    )
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="variables for interpolation (the environment wins over the file)",
    )


# A year: more is a typo, and float("1e400") is infinite.
_MAX_DURATION = 366 * 24 * 3600


def duration(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``2h`` -> seconds, from 0 up to a year."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        unit = units.get(text[-1:], 1)
        seconds = float(text[:-1] if text[-1:] in units else text) * unit
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (use 90, 90s, 5m or 2h)"
        ) from None
    if not 0 <= seconds <= _MAX_DURATION:  # also false for nan
        raise argparse.ArgumentTypeError(
            f"duration {text!r} is out of range (use 0 up to {_MAX_DURATION // 3600}h)"
        )
    return seconds
