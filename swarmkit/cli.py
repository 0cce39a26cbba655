"""The ``swarmkit`` command: thin wrappers over library functions.

Each command parses its arguments, calls one library function and maps the
result to an exit code: 0 ok, 1 failed (lint errors, a deploy that did not
converge), 2 bad input or environment. Errors are one line on stderr. The
deploy commands run in a :func:`~swarmkit.session.engine_session`, which
owns the engine connection; they load the docker SDK inside it, while ssh
logs in.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from swarmkit._version import __version__

if TYPE_CHECKING:
    from swarmkit.deploy import ServiceStatus

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


def _cmd_deploy(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    shown = [""]

    def progress(rows: list[ServiceStatus]) -> None:
        # One line per change, not per poll.
        waiting = ", ".join(
            f"{r.name} {r.healthy}/{'?' if r.desired is None else r.desired} healthy"
            + (f" ({r.update_state})" if r.update_state not in ("", "completed") else "")
            for r in rows
            if not r.converged
        )
        if waiting and waiting != shown[0] and not args.quiet:
            sys.stderr.write(f"waiting: {waiting}\n")
        shown[0] = waiting

    with engine_session() as client:
        from swarmkit.deploy import deploy_stack

        deploy_stack(
            client,
            args.files,
            args.name,
            env_file=args.env_file,
            prune=args.prune,
            resolve_image=args.resolve_image,
            wait=not args.no_wait,
            timeout=args.timeout,
            progress=progress,
        )
    if not args.quiet:
        sys.stderr.write(f"stack {args.name} {'deployed' if args.no_wait else 'converged'}\n")
    return EXIT_OK


def _cmd_rollback(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    with engine_session() as client:
        from swarmkit.deploy import rollback_stack

        rollback_stack(client, args.stack, service=args.service, timeout=args.timeout)
    sys.stderr.write(f"stack {args.stack} rolled back\n")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    with engine_session() as client:
        from swarmkit.deploy import format_status, stack_status

        rows = stack_status(client, args.stack)
    sys.stdout.write(format_status(rows))
    return EXIT_OK if all(row.converged for row in rows) else EXIT_FAILED


def _cmd_logs(args: argparse.Namespace) -> int:
    import time

    from swarmkit.session import engine_session

    since = int(time.time() - args.since) if args.since is not None else None
    options = {"service": args.service, "since": since, "tail": args.tail}
    with engine_session() as client:
        from swarmkit.deploy import follow_logs, format_line, stack_logs

        if args.follow:
            lines = follow_logs(client, args.stack, **options)
        else:
            lines = iter(stack_logs(client, args.stack, **options))
        for line in lines:
            sys.stdout.write(format_line(line, timestamps=args.timestamps) + "\n")
            if args.follow:
                sys.stdout.flush()
    return EXIT_OK


def _cmd_gc(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    with engine_session() as client:
        from swarmkit.deploy import gc_stack, stack_services

        # An unknown stack is an error, not an empty clean-up.
        stack_services(client, args.stack)
        for removed in gc_stack(client, args.stack, keep=args.keep, dry_run=args.dry_run):
            verb = "would remove" if args.dry_run else "removed"
            sys.stdout.write(f"{verb} {removed.kind} {removed.name}\n")
    return EXIT_OK


# A year: more is a typo, and float("1e400") is infinite.
_MAX_DURATION = 366 * 24 * 3600


def _duration(text: str) -> float:
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


def _add_deploy_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    deploy = commands.add_parser(
        "deploy", help="deploy a stack and wait until it has converged or rolled back"
    )
    _add_stack_files(deploy)
    deploy.add_argument("--name", required=True, metavar="STACK", help="the stack's name")
    deploy.add_argument(
        "--timeout", type=_duration, default=600.0, metavar="DURATION", help="default 10m"
    )
    deploy.add_argument("--no-wait", action="store_true", help="return once deployed")
    deploy.add_argument("--prune", action="store_true", help="remove services not in the files")
    deploy.add_argument("--resolve-image", choices=("always", "changed", "never"), default="always")
    deploy.add_argument(
        "--with-registry-auth",
        action="store_true",
        help="accepted for the docker CLI's sake; swarmkit always sends registry auth",
    )
    deploy.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    deploy.set_defaults(run=_cmd_deploy)

    rollback = commands.add_parser(
        "rollback", help="roll a stack's services back to their previous spec, and wait"
    )
    rollback.add_argument("stack", metavar="STACK")
    rollback.add_argument("-s", "--service", metavar="SERVICE", help="only this service")
    rollback.add_argument(
        "--timeout", type=_duration, default=600.0, metavar="DURATION", help="default 10m"
    )
    rollback.set_defaults(run=_cmd_rollback)

    status = commands.add_parser(
        "status", help="one row per service of a stack: image, replicas, health, update, nodes"
    )
    status.add_argument("stack", metavar="STACK")
    status.set_defaults(run=_cmd_status)

    logs = commands.add_parser("logs", help="all of a stack's service logs, in time order")
    logs.add_argument("stack", metavar="STACK")
    logs.add_argument("-s", "--service", metavar="SERVICE", help="only this service")
    logs.add_argument(
        "--since", type=_duration, metavar="DURATION", help="only lines of the last 90s, 5m, 2h"
    )
    logs.add_argument("-n", "--tail", type=int, metavar="N", help="last N lines per service")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-t", "--timestamps", action="store_true", help="print timestamps")
    logs.set_defaults(run=_cmd_logs)

    gc = commands.add_parser(
        "gc", help="remove the stack's content-addressed configs and secrets no service uses"
    )
    gc.add_argument("stack", metavar="STACK")
    gc.add_argument(
        "--keep", type=int, default=0, metavar="N", help="keep the newest N unused ones of each"
    )
    gc.add_argument("--dry-run", action="store_true", help="print what would be removed")
    gc.set_defaults(run=_cmd_gc)


# -- swarmkit rm (review apps' stop job) ----------------------------------------------------


def _cmd_rm(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    with engine_session() as client:
        from swarmkit.deploy import remove_stack

        removal = remove_stack(client, args.stack, volumes=args.volumes, timeout=args.timeout)
    for kind in ("services", "configs", "secrets", "volumes"):
        for name in getattr(removal, kind):
            sys.stdout.write(f"removed {kind[:-1]} {name}\n")
    return EXIT_OK


def _add_rm_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    rm = commands.add_parser(
        "rm", help="remove a stack, wait for its tasks, then its configs and secrets (and volumes)"
    )
    rm.add_argument("stack", metavar="STACK")
    rm.add_argument("--volumes", action="store_true", help="also remove the stack's volumes")
    rm.add_argument(
        "--timeout", type=_duration, default=120.0, metavar="DURATION", help="default 2m"
    )
    rm.set_defaults(run=_cmd_rm)


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
    _add_deploy_commands(commands)
    _add_rm_command(commands)
    return parser


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
    from swarmkit.exceptions import DeployFailedError, SwarmkitError

    try:
        code: int = args.run(args)
    except DeployFailedError as exc:
        for failure in exc.failures:
            sys.stderr.write(failure.rstrip("\n") + "\n")
        sys.stderr.write(f"swarmkit: error: {exc}\n")
        return EXIT_FAILED
    except SwarmkitError as exc:  # MissingExtraError too: a missing extra is the environment
        sys.stderr.write(f"swarmkit: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
