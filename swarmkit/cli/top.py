"""``swarmkit top``: CPU and memory per task and service of a stack."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from swarmkit.cli.common import EXIT_OK, Commands, duration

__all__ = ["add_top_command"]


def _node_host(text: str) -> tuple[str, str]:
    """``NODE=URL`` of ``--node-host``."""
    node, sep, url = text.partition("=")
    if not sep or not node or not url.startswith(("tcp://", "unix://", "ssh://")):
        raise argparse.ArgumentTypeError(
            f"not NODE=URL: {text!r} (URL: tcp://HOST:PORT, unix:///PATH or ssh://USER@HOST)"
        )
    return node, url


def _cmd_top(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    with engine_session() as client:
        from swarmkit.deploy.top import node_engines, stack_top, watch_top
        from swarmkit.deploy.usage import format_top, top_json

        def show(rows: list[Any], clear: bool) -> None:
            if args.format == "json":
                # --watch: one JSON document per line, for a pipe.
                text = top_json(rows, indent=None if args.watch else 2)
            else:
                text = format_top(rows)
            if clear:
                text = "\x1b[H\x1b[2J" + text  # cursor home, clear: a redraw
            elif args.watch and args.format != "json":
                text += "\n"
            sys.stdout.write(text)
            sys.stdout.flush()

        with node_engines(client, dict(args.node_host or ())) as engines:
            if not args.watch:
                show(stack_top(client, args.stack, engines), clear=False)
                return EXIT_OK
            redraw = sys.stdout.isatty() and args.format != "json"
            try:
                for rows in watch_top(client, args.stack, engines, interval=args.interval):
                    show(rows, clear=redraw)
            except KeyboardInterrupt:  # the way to stop watching: not a failure
                return EXIT_OK
    return EXIT_OK  # pragma: no cover - watch_top never ends


def add_top_command(commands: Commands) -> None:
    """``top``."""
    top = commands.add_parser(
        "top", help="CPU and memory per task and service of a stack, against limits"
    )
    top.add_argument("stack", metavar="STACK", help="the stack's name (docker stack ls lists them)")
    top.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: a table (default); json: one object per task and service",
    )
    top.add_argument("-w", "--watch", action="store_true", help="redraw until Ctrl-C")
    top.add_argument(
        "-n",
        "--interval",
        type=duration,
        default=2.0,
        metavar="DURATION",
        help="between redraws with --watch (default 2s; a measurement takes about 1s)",
    )
    top.add_argument(
        "--node-host",
        type=_node_host,
        action="append",
        metavar="NODE=URL",
        help="the engine of another node (hostname or id), to measure its tasks too; repeat",
    )
    top.set_defaults(run=_cmd_top)
