"""The ``swarmkit`` command: thin wrappers over library functions.

Each command parses its arguments, calls one library function and maps the
result to an exit code: 0 ok, 1 failed (lint errors, a deploy that did not
converge), 2 bad input or environment. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from swarmkit._version import __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"swarmkit: error: {message} (see {self.prog} --help)\n")


def _add_stack_files(parser: argparse.ArgumentParser) -> None:
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
    from swarmkit.stack.lint import format_json, format_text, has_errors

    findings = lint_stack(load_stack(*args.files, env_file=args.env_file))
    sys.stdout.write(format_json(findings) if args.format == "json" else format_text(findings))
    return EXIT_FAILED if has_errors(findings) else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``swarmkit`` command."""
    parser = _Parser(prog="swarmkit", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"swarmkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    config = commands.add_parser(
        "config", help="print the merged, interpolated stack (like docker stack config)"
    )
    _add_stack_files(config)
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
    _add_stack_files(lint)
    lint.add_argument("--format", choices=("text", "json"), default="text")
    lint.set_defaults(run=_cmd_lint)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from swarmkit.exceptions import SwarmkitError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except SwarmkitError as exc:
        sys.stderr.write(f"swarmkit: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
