"""``swarmkit deploy``, ``rollback``, ``status``, ``logs`` and ``gc``: a deployed stack's life."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from swarmkit.cli.common import EXIT_FAILED, EXIT_OK, Commands, add_stack_files, duration

if TYPE_CHECKING:
    from swarmkit.deploy import ServiceStatus

__all__ = ["add_deploy_commands"]


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


def add_deploy_commands(commands: Commands) -> None:
    """``deploy``, ``rollback``, ``status``, ``logs`` and ``gc``."""
    deploy = commands.add_parser(
        "deploy", help="deploy a stack and wait until it has converged or rolled back"
    )
    add_stack_files(deploy)
    deploy.add_argument("--name", required=True, metavar="STACK", help="the stack's name")
    deploy.add_argument(
        "--timeout", type=duration, default=600.0, metavar="DURATION", help="default 10m"
    )
    deploy.add_argument(
        "--rollback-timeout",
        type=duration,
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
        "--timeout", type=duration, default=600.0, metavar="DURATION", help="default 10m"
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
        "--since", type=duration, metavar="DURATION", help="only lines of the last 90s, 5m, 2h"
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
