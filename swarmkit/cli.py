"""The ``swarmkit`` command: thin wrappers over library functions.

Each command parses its arguments, calls one library function and maps the
result to an exit code: 0 ok, 1 failed (lint errors, a deploy that did not
converge), 2 bad input or environment, 3 a rollback that did not bring the
previous release back (the stack runs a mix). Errors are one line on stderr. The
deploy commands run in a :func:`~swarmkit.session.engine_session`, which
owns the engine connection; they load the docker SDK inside it, while ssh
logs in.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from swarmkit._version import __version__

if TYPE_CHECKING:
    from swarmkit.deploy import ServiceStatus

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
#: A rollback (Swarm's after a failed deploy, or swarmkit rollback's) paused,
#: cannot pull the previous image or timed out: neither release runs in full.
EXIT_MIXED = 3


# What `swarmkit --help` says first: plain text (the module docstring is reStructuredText).
DESCRIPTION = (
    "Docker Swarm stacks from Compose files: merge, lint, deploy and wait, watch, "
    "roll back, clean up. Exit codes: 0 ok, 1 failed (lint errors, not converged), "
    "2 bad input or environment, 3 a rollback that failed too."
)


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
    from swarmkit.stack.lint import format_gitlab, format_json, format_text, has_errors

    findings = lint_stack(load_stack(*args.files, env_file=args.env_file))
    formats = {"text": format_text, "json": format_json, "gitlab": format_gitlab}
    sys.stdout.write(formats[args.format](findings))
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
            rollback_timeout=args.rollback_timeout,
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
    deploy.add_argument(
        "--rollback-timeout",
        type=_duration,
        default=600.0,
        metavar="DURATION",
        help="after a failed update, how long to wait for Swarm's rollback; default 10m",
    )
    deploy.add_argument("--no-wait", action="store_true", help="return once deployed")
    deploy.add_argument("--prune", action="store_true", help="remove services not in the files")
    deploy.add_argument(
        "--resolve-image",
        choices=("always", "changed", "never"),
        default="always",
        help="pin each image to its registry digest: always (default), only changed images, "
        "or never (local images no registry has)",
    )
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
    rollback.add_argument(
        "stack", metavar="STACK", help="the stack's name (docker stack ls lists them)"
    )
    rollback.add_argument("-s", "--service", metavar="SERVICE", help="only this service")
    rollback.add_argument(
        "--timeout", type=_duration, default=600.0, metavar="DURATION", help="default 10m"
    )
    rollback.set_defaults(run=_cmd_rollback)

    status = commands.add_parser(
        "status", help="one row per service of a stack: image, replicas, health, update, nodes"
    )
    status.add_argument(
        "stack", metavar="STACK", help="the stack's name (docker stack ls lists them)"
    )
    status.set_defaults(run=_cmd_status)

    logs = commands.add_parser("logs", help="all of a stack's service logs, in time order")
    logs.add_argument(
        "stack", metavar="STACK", help="the stack's name (docker stack ls lists them)"
    )
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
    gc.add_argument("stack", metavar="STACK", help="the stack's name (docker stack ls lists them)")
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
    rm.add_argument("stack", metavar="STACK", help="the stack's name, as deployed")
    rm.add_argument("--volumes", action="store_true", help="also remove the stack's volumes")
    rm.add_argument(
        "--timeout",
        type=_duration,
        default=120.0,
        metavar="DURATION",
        help="how long to wait for the stack's tasks to go (default 2m)",
    )
    rm.set_defaults(run=_cmd_rm)


# --- swarmkit top (issue 14): one self-contained block ------------------------


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


def _add_top_command(commands: argparse._SubParsersAction[_Parser]) -> None:
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
        type=_duration,
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


# --- end of swarmkit top ------------------------------------------------------


# -- swarmkit secret (versioned external secrets) ----------------------------------------


def _secret_value(args: argparse.Namespace, key: str) -> bytes:
    from swarmkit.deploy.secrets import generate_value
    from swarmkit.files import MAX_SECRET_FILE, read_bounded, read_stream_bounded

    files = dict(item.partition("=")[::2] for item in args.file or () if "=" in item)
    plain = [item for item in args.file or () if "=" not in item]
    if key in files:
        return read_bounded(files[key], MAX_SECRET_FILE, what="secret file")
    if plain:
        return read_bounded(plain[0], MAX_SECRET_FILE, what="secret file")
    if args.generate:
        return generate_value(args.generate)
    return read_stream_bounded(sys.stdin.buffer, MAX_SECRET_FILE, what="secret", name="<stdin>")


def _cmd_secret_create(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    value = _secret_value(args, args.name)
    labels = dict(item.partition("=")[::2] for item in args.label or ())
    with engine_session() as client:
        from swarmkit.deploy.secrets import create_secret, next_version, secret_base

        base = secret_base(client, args.stack, args.name, args.prefix)
        version = args.version or next_version(client, base)
        create_secret(client, f"{base}_v{version}", value, labels=labels)
    sys.stdout.write(f"{base}_v{version}\n")
    return EXIT_OK


def _cmd_secret_ls(args: argparse.Namespace) -> int:
    import json

    from swarmkit.session import engine_session

    with engine_session() as client:
        from swarmkit.deploy.secrets import format_secrets, stack_secrets

        versions = stack_secrets(client, args.stack)
    if args.format == "json":
        sys.stdout.write(json.dumps([v.as_json() for v in versions], indent=1) + "\n")
    else:
        sys.stdout.write(format_secrets(versions))
    return EXIT_OK


def _cmd_secret_rotate(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    def say(line: str) -> None:
        sys.stderr.write(line + "\n")

    with engine_session() as client:
        from swarmkit.deploy.rotate import rotate_secret

        done = rotate_secret(
            client, args.files, args.name, args.secret, lambda key: _secret_value(args, key),
            env_file=args.env_file, keep_old=args.keep_old, previous=args.previous,
            resolve_image=args.resolve_image, timeout=args.timeout, progress=say,
        )  # fmt: skip
    for name in done.kept:
        say(f"kept secret {name}" + ("" if args.keep_old else " (a service still uses it)"))
    say(f"rotated {args.secret}: v{done.old_version} -> v{done.new_version}")
    return EXIT_OK


def _add_value_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", action="append", metavar="[KEY=]PATH",
        help="read the value from PATH (KEY=PATH for one secret of a group); default stdin",
    )  # fmt: skip
    parser.add_argument(
        "--generate", metavar="SPEC", help="a random value: hex:32, base64:48 or password"
    )


def _add_secret_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    secret = commands.add_parser("secret", help="versioned external secrets: create, ls, rotate")
    sub = secret.add_subparsers(
        dest="secret_command",
        required=True,
        metavar="COMMAND",
        help="swarmkit secret COMMAND --help",
    )

    create = sub.add_parser("create", help="create the next version <prefix>_<NAME>_v<N>")
    create.add_argument(
        "stack", metavar="STACK", help="the stack's name (docker stack ls lists them)"
    )
    create.add_argument("name", metavar="NAME", help="the secret's key in the stack files")
    create.add_argument("--prefix", help="default: what the stack uses, or STACK minus _<env>")
    create.add_argument("--version", type=int, metavar="N", help="default: the next free one")
    create.add_argument(
        "--label", action="append", metavar="KEY=VALUE", help="a label on the secret; repeat"
    )
    _add_value_options(create)
    create.set_defaults(run=_cmd_secret_create)

    ls = sub.add_parser("ls", help="each secret's versions, who uses them, their age")
    ls.add_argument("stack", metavar="STACK", help="the stack's name (docker stack ls lists them)")
    ls.add_argument(
        "--format", choices=("text", "json"), default="text", help="text (default) or json"
    )
    ls.set_defaults(run=_cmd_secret_ls)

    rotate = sub.add_parser(
        "rotate", help="create v<N+1>, raise its variable in the env file, deploy, remove v<N>"
    )
    rotate.add_argument("-c", "--compose-file", dest="files", action="append", required=True,
                        metavar="FILE", help="stack file; repeat for overlays")  # fmt: skip
    rotate.add_argument("--env-file", required=True, metavar="FILE",
                        help="holds the version variable; rewritten atomically")  # fmt: skip
    rotate.add_argument("--name", required=True, metavar="STACK", help="the stack's name")
    rotate.add_argument("--keep-old", action="store_true", help="do not remove version N")
    rotate.add_argument(
        "--previous", metavar="VARIABLE",
        help="also set VARIABLE to N: a secret named with it keeps the old value mounted "
        "(SECRET_KEY_FALLBACKS_VERSION)",
    )  # fmt: skip
    rotate.add_argument(
        "--timeout", type=_duration, default=600.0, metavar="DURATION", help="default 10m"
    )
    rotate.add_argument("--resolve-image", choices=("always", "changed", "never"),
                        default="always", help="as for swarmkit deploy")  # fmt: skip
    _add_value_options(rotate)
    rotate.add_argument("secret", metavar="NAME", help="the secret's key in the stack files")
    rotate.set_defaults(run=_cmd_secret_rotate)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``swarmkit`` command."""
    parser = _Parser(prog="swarmkit", description=DESCRIPTION)
    parser.add_argument(
        "--version", action="version", version=f"swarmkit {__version__}", help="print the version"
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="swarmkit COMMAND --help: its options",
    )

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
    lint.add_argument(
        "--format",
        choices=("text", "json", "gitlab"),
        default="text",
        help="text: one line per finding (default); json; gitlab: a Code Quality report",
    )
    lint.set_defaults(run=_cmd_lint)
    _add_deploy_commands(commands)
    _add_rm_command(commands)
    _add_top_command(commands)
    _add_secret_commands(commands)
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
    return code


if __name__ == "__main__":
    sys.exit(main())
