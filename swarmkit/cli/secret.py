"""``swarmkit secret create|ls|rotate``: versioned external secrets."""

from __future__ import annotations

import argparse
import sys

from swarmkit.cli.common import EXIT_OK, Commands, duration

__all__ = ["add_secret_commands"]


def _secret_value(args: argparse.Namespace, key: str, version: int) -> bytes:
    from swarmkit.deploy.secrets import generate_value
    from swarmkit.files import MAX_SECRET_FILE, read_bounded, read_stream_bounded

    files = dict(item.partition("=")[::2] for item in args.file or () if "=" in item)
    plain = [item for item in args.file or () if "=" not in item]
    if key in files:
        return read_bounded(files[key], MAX_SECRET_FILE, what="secret file")
    if plain:
        return read_bounded(plain[0], MAX_SECRET_FILE, what="secret file")
    if args.generate:
        return generate_value(args.generate, version)
    return read_stream_bounded(sys.stdin.buffer, MAX_SECRET_FILE, what="secret", name="<stdin>")


def _cmd_secret_create(args: argparse.Namespace) -> int:
    from swarmkit.session import engine_session

    labels = dict(item.partition("=")[::2] for item in args.label or ())
    if args.generate:  # a bad generator fails before the engine is asked
        from swarmkit.deploy.secrets import generate_value

        generate_value(args.generate, args.version or 1)
    with engine_session() as client:
        from swarmkit.deploy.secrets import create_secret, next_version, secret_base

        base = secret_base(client, args.stack, args.name, args.prefix)
        version = args.version or next_version(client, base)
        value = _secret_value(args, args.name, version)
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
            client, args.files, args.name, args.secret,
            lambda key, version: _secret_value(args, key, version),
            env_file=args.env_file, keep_old=args.keep_old, previous=args.previous,
            retire_previous=args.retire_previous,
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
        "--generate", metavar="SPEC",
        help="a random value: hex:32, base64:48, password, or a template such as "
        "'postgresql://shop_v{version}:{password}@db:5432/shop'",
    )  # fmt: skip


def add_secret_commands(commands: Commands) -> None:
    """``secret`` and its commands."""
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
        "--retire-previous", action="store_true",
        help="once converged, clear the --previous variable and deploy again without the "
        "files that name it: version N is then mounted nowhere and removed",
    )  # fmt: skip
    rotate.add_argument(
        "--timeout", type=duration, default=600.0, metavar="DURATION", help="default 10m"
    )
    rotate.add_argument("--resolve-image", choices=("always", "changed", "never"),
                        default="always", help="as for swarmkit deploy")  # fmt: skip
    _add_value_options(rotate)
    rotate.add_argument("secret", metavar="NAME", help="the secret's key in the stack files")
    rotate.set_defaults(run=_cmd_secret_rotate)
