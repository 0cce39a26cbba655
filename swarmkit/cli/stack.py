"""``swarmkit config`` and ``swarmkit lint``: stack files in, a stack or findings out."""

from __future__ import annotations

import argparse
import sys

from swarmkit.cli.common import EXIT_FAILED, EXIT_OK, Commands, add_stack_files

__all__ = ["add_stack_commands"]


def _cmd_config(args: argparse.Namespace) -> int:
    from swarmkit.files import write_atomically
    from swarmkit.stack import hash_names, load_stack, render_stack

    stack = load_stack(*args.files, env_file=args.env_file)
    if args.hash_names:
        stack = hash_names(stack, args.hash_names)
    text = render_stack(stack)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _cmd_lint(args: argparse.Namespace) -> int:
    from swarmkit.stack import lint_stack, load_stack
    from swarmkit.stack.lint import format_gitlab, format_json, format_text, has_errors

    findings = lint_stack(load_stack(*args.files, env_file=args.env_file))
    formats = {"text": format_text, "json": format_json, "gitlab": format_gitlab}
    sys.stdout.write(formats[args.format](findings))
    return EXIT_FAILED if has_errors(findings) else EXIT_OK


def add_stack_commands(commands: Commands) -> None:
    """``config`` and ``lint``."""
    config = commands.add_parser(
        "config", help="print the merged, interpolated stack (like docker stack config)"
    )
    add_stack_files(config)
    config.add_argument(
        "--hash-names",
        metavar="STACK",
        help="name file-based configs and secrets <STACK>_<key>_<sha256 prefix>",
    )
    config.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the stack to FILE (atomically) instead of standard output",
    )
    config.set_defaults(run=_cmd_config)

    lint = commands.add_parser("lint", help="check a stack against Swarm practices")
    add_stack_files(lint)
    lint.add_argument(
        "--format",
        choices=("text", "json", "gitlab"),
        default="text",
        help="text: one line per finding (default); json; gitlab: a Code Quality report",
    )
    lint.set_defaults(run=_cmd_lint)
