"""The ``swarmkit`` command: its parser, and the run that maps errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from swarmkit._version import __version__
from swarmkit.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_MIXED, Parser
from swarmkit.cli.deploy import add_deploy_commands
from swarmkit.cli.remove import add_rm_command
from swarmkit.cli.secret import add_secret_commands
from swarmkit.cli.stack import add_stack_commands
from swarmkit.cli.top import add_top_command

__all__ = ["build_parser", "main"]

# What `swarmkit --help` says first: plain text (the module docstring is reStructuredText).
DESCRIPTION = (
    "Docker Swarm stacks from Compose files: merge, lint, deploy and wait, watch, "
    "roll back, clean up. Exit codes: 0 ok, 1 failed (lint errors, not converged), "
    "2 bad input or environment, 3 a rollback that failed too."
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``swarmkit`` command."""
    parser = Parser(prog="swarmkit", description=DESCRIPTION)
    parser.add_argument(
        "--version", action="version", version=f"swarmkit {__version__}", help="print the version"
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="swarmkit COMMAND --help: its options",
    )

    add_stack_commands(commands)
    add_deploy_commands(commands)
    add_rm_command(commands)
    add_top_command(commands)
    add_secret_commands(commands)
    _describe_commands(parser)
    return parser


def _describe_commands(parser: argparse.ArgumentParser) -> None:
    # `swarmkit CMD --help` opens with the line `swarmkit --help` lists for CMD.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for listed in action._choices_actions:
                command = action.choices[listed.dest]
                command.description = command.description or listed.help
                _describe_commands(command)


class _Terminated(BaseException):
    """SIGTERM as an exception: ``finally`` blocks run (an SSH tunnel is closed)."""


def _terminate(signum: int, frame: object) -> NoReturn:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (130 after Ctrl-C, 143 after SIGTERM)."""
    import signal

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave signals alone
        return _run(args)
    try:
        return _run(args)
    except _Terminated:
        return 128 + signal.SIGTERM
    finally:
        if previous is not None:  # None: a handler set outside Python, not restorable
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from swarmkit.exceptions import DeployFailedError, RollbackFailedError, SwarmkitError

    try:
        code: int = args.run(args)
    except DeployFailedError as exc:
        for failure in exc.failures:
            sys.stderr.write(failure.rstrip("\n") + "\n")
        sys.stderr.write(f"swarmkit: error: {exc}\n")
        return EXIT_MIXED if isinstance(exc, RollbackFailedError) else EXIT_FAILED
    except SwarmkitError as exc:  # MissingExtraError too: a missing extra is the environment
        sys.stderr.write(f"swarmkit: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not _is_engine_error(exc):
            raise
        # An engine answer the library did not expect (an object gone between
        # two calls, say): one line, not the SDK's chain of tracebacks.
        explanation = getattr(exc, "explanation", None) or exc
        sys.stderr.write(
            f"swarmkit: error: the Docker engine answered: {explanation} "
            "(run the command again; if it persists, report it with `docker info`)\n"
        )
        return EXIT_BAD_INPUT
    return code


def _is_engine_error(exc: Exception) -> bool:
    # Not imported here: `swarmkit lint` runs without the docker SDK, and an
    # error of a module never imported cannot have been raised.
    errors = sys.modules.get("docker.errors")
    return errors is not None and isinstance(exc, errors.DockerException)
