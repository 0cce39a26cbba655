"""``swarmkit rm``: a stack and everything it made (a review app's stop job)."""

from __future__ import annotations

import argparse
import sys

from swarmkit.cli.common import EXIT_OK, Commands, duration

__all__ = ["add_rm_command"]


def _cmd_rm(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    with engine_session() as client:
        from swarmkit.deploy import remove_stack

        removal = remove_stack(client, args.stack, volumes=args.volumes, timeout=args.timeout)
    for kind in ("services", "configs", "secrets", "volumes"):
        for name in getattr(removal, kind):
            sys.stdout.write(f"removed {kind[:-1]} {name}\n")
    return EXIT_OK


def add_rm_command(commands: Commands) -> None:
    """``rm``."""
    rm = commands.add_parser(
        "rm", help="remove a stack, wait for its tasks, then its configs and secrets (and volumes)"
    )
    rm.add_argument("stack", metavar="STACK", help="the stack's name, as deployed")
    rm.add_argument("--volumes", action="store_true", help="also remove the stack's volumes")
    rm.add_argument(
        "--timeout",
        type=duration,
        default=120.0,
        metavar="DURATION",
        help="how long to wait for the stack's tasks to go (default 2m)",
    )
    rm.set_defaults(run=_cmd_rm)


# --- swarmkit top (issue 14): one self-contained block ------------------------
