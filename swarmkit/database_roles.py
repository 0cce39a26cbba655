"""``python -m swarmkit.database_roles``: a PostgreSQL login role per version of the app's URI.

PostgreSQL keeps one password per role: changing the app's password in place
locks out every task that still holds the old one until it is replaced. So
each version N of the app's database URI secret logs in as its own role,
``<owner>_v<N>``: a member of the owner role whose sessions run as the owner
(``ALTER ROLE ... SET role``), so the tables a migration creates belong to
the owner whichever version ran it. A rotation mounts the new and the
previous URI here, both roles log in while the app's tasks roll, and the
deploy after it mounts the new one only: the previous role loses LOGIN.

The generated stack runs this as its ``db-roles`` service::

    python -m swarmkit.database_roles --owner shop \\
        --owner-password-file /run/secrets/database_password \\
        --uri /run/secrets/database_uri --uri-if-present /run/secrets/database_uri_previous

Each sync (at start, then every ``--interval`` seconds) connects as the
owner to the URI's host and database and makes the login role of every URI
file given (created, or repaired when a login with its password fails), and
takes LOGIN away from every other ``<owner>_v<N>`` role, ending its
sessions. A database restored into a new cluster gets its roles back at the
next sync (``pg_dump`` does not carry roles). Passwords reach the server as
SCRAM-SHA-256 verifiers that libpq computes here, never in clear in a
statement the server could log; no message holds a password or a URI.
``--check`` (the service's healthcheck) exits 0 while the last sync is recent
and succeeded. Exit status 2 for bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NoReturn

from swarmkit.exceptions import DatabaseRoleError, MissingExtraError, SwarmkitError
from swarmkit.files import MAX_SECRET_FILE, read_bounded

if TYPE_CHECKING:
    import psycopg

__all__ = ["DEFAULT_READY_FILE", "LoginRole", "SyncReport", "main", "read_login_role", "sync_roles"]

#: Where a sync records until when the service counts as healthy: the
#: task's own tmpfs (the stack mounts one; the root file system is read-only).
DEFAULT_READY_FILE: Final = "/tmp/swarmkit-database-roles"  # noqa: S108
_PROG: Final = "swarmkit.database_roles"
# Unquoted PostgreSQL identifiers only: the role names go into statements
# (quoted by psycopg as well) and into a regular expression.
_OWNER = re.compile(r"[a-z_][a-z0-9_]{0,47}")
_MAX_ROLE_NAME = 63  # NAMEDATALEN - 1


@dataclass(frozen=True)
class LoginRole:
    """The login role of one URI secret: its name, password, and where to connect."""

    name: str
    password: str = field(repr=False)
    host: str
    port: int
    dbname: str
    file: str


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed: roles made or repaired, and roles whose LOGIN it took away."""

    made: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    ended_sessions: int = 0


def read_login_role(path: str, owner: str) -> LoginRole:
    """The login role of the URI secret at ``path``; :class:`DatabaseRoleError` if it is not one.

    The URI's user must be ``<owner>_v<N>`` and it must hold a password, a
    host and a database name.
    """
    raw = read_bounded(path, MAX_SECRET_FILE, what="database URI secret")
    try:
        parts = urllib.parse.urlsplit(raw.decode("utf-8").strip())
        port = parts.port or 5432
    except (UnicodeDecodeError, ValueError):
        # The text is not shown: it holds the password.
        raise DatabaseRoleError("not a postgresql:// URI (or a bad port)", file=path) from None
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    dbname = urllib.parse.unquote(parts.path.lstrip("/"))
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname or not dbname:
        raise DatabaseRoleError(
            "not a postgresql://USER:PASSWORD@HOST:PORT/DATABASE URI", file=path
        )
    if not re.fullmatch(rf"{owner}_v[1-9][0-9]{{0,8}}", user):
        shown = user if re.fullmatch(r"[A-Za-z0-9_.-]{1,63}", user) else "(not shown)"
        raise DatabaseRoleError(
            f"the URI's user is {shown}, not {owner}_v<N>",
            file=path,
            hint=f"each version N of the URI logs in as {owner}_v<N> (README: Rotate a secret)",
        )
    if not password:
        raise DatabaseRoleError("the URI has no password", file=path)
    return LoginRole(user, password, parts.hostname, port, dbname, path)


def sync_roles(
    connection: psycopg.Connection[Any], owner: str, roles: Sequence[LoginRole]
) -> SyncReport:
    """Make ``roles`` log in (as members of ``owner``), and no other ``<owner>_v<N>`` role.

    ``connection`` is the owner's (or a superuser's), in autocommit mode (its
    client encoding becomes UTF-8). A
    role whose login with its password already works, as the owner, is left
    as it is, so a sync that has nothing to do writes nothing.
    """
    from psycopg import sql

    # Names as str whatever the database's encoding (psycopg returns a
    # SQL_ASCII database's text as bytes, and no role would match its URI's).
    connection.execute("SET client_encoding TO 'UTF8'")
    wanted = {role.name for role in roles}
    made = []
    for role in roles:
        if _logs_in(role, owner):
            continue
        verifier = connection.pgconn.encrypt_password(
            role.password.encode(), role.name.encode(), b"scram-sha-256"
        ).decode("ascii")
        name, password = sql.Identifier(role.name), sql.Literal(verifier)
        with connection.transaction():
            exists = connection.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", [role.name]
            ).fetchone()
            if exists:
                statement = sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}")
            else:
                statement = sql.SQL("CREATE ROLE {} WITH LOGIN PASSWORD {}")
            connection.execute(statement.format(name, password))
            connection.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), name))
            connection.execute(
                sql.SQL("ALTER ROLE {} SET role = {}").format(name, sql.Literal(owner))
            )
        made.append(role.name)
    others = [
        str(row[0])
        for row in connection.execute(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname ~ %s ORDER BY rolname",
            [f"^{owner}_v[0-9]+$"],
        ).fetchall()
        if row[0] not in wanted
    ]
    ended = 0
    for other in others:
        connection.execute(sql.SQL("ALTER ROLE {} WITH NOLOGIN").format(sql.Identifier(other)))
        row = connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s",
            [other],
        ).fetchone()
        ended += int(row[0]) if row else 0
    return SyncReport(tuple(made), tuple(others), ended)


def _logs_in(role: LoginRole, owner: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(
            host=role.host, port=role.port, dbname=role.dbname, user=role.name,
            password=role.password, connect_timeout=5, application_name=_PROG,
            client_encoding="utf8",
        ) as probe:  # fmt: skip
            row = probe.execute("SELECT current_user").fetchone()
    except psycopg.Error:
        return False
    return row is not None and row[0] == owner


def _connect_owner(role: LoginRole, owner: str, password: str) -> psycopg.Connection[Any]:
    import psycopg

    return psycopg.connect(
        host=role.host, port=role.port, dbname=role.dbname, user=owner, password=password,
        connect_timeout=5, autocommit=True, application_name=_PROG,
    )  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{_PROG}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=f"python -m {_PROG}",
        description="Keep a PostgreSQL login role per version of the app's database URI.",
    )
    add = parser.add_argument
    add("--owner", help="the role that owns the database (required unless --check)")
    add("--owner-password-file", metavar="FILE",
        help="the owner's password, a Swarm secret (required unless --check)")  # fmt: skip
    add("--uri", action="append", default=[], metavar="FILE",
        help="a database URI secret whose role must log in; repeat")  # fmt: skip
    add("--uri-if-present", action="append", default=[], metavar="FILE",
        help="the same, when the file exists (a rotation's previous URI)")  # fmt: skip
    add("--interval", type=float, default=30.0, metavar="S",
        help="seconds between syncs (default 30)")  # fmt: skip
    add("--once", action="store_true", help="sync once and exit")
    add("--ready-file", default=DEFAULT_READY_FILE, metavar="FILE",
        help=f"where a sync records it succeeded (default {DEFAULT_READY_FILE})")  # fmt: skip
    add("--check", action="store_true",
        help="exit 0 while the last sync is recent and succeeded (healthcheck)")  # fmt: skip
    return parser


def _check(ready_file: str) -> int:
    try:
        with open(ready_file, encoding="ascii") as handle:
            until = float(handle.read(64))
    except (OSError, ValueError):
        print(f"{_PROG}: no successful sync yet", file=sys.stderr)
        return 1
    if time.time() > until:
        print(f"{_PROG}: the last successful sync is too old", file=sys.stderr)
        return 1
    return 0


def _mark(ready_file: str, until: float | None) -> None:
    if until is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ready_file)
        return
    temporary = f"{ready_file}.tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(f"{until:.0f}")
    os.replace(temporary, ready_file)


def _stop(signum: int, frame: object) -> NoReturn:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """Sync, then again every ``--interval`` seconds until SIGTERM; the exit status."""
    args = _parser().parse_args(argv)
    if args.check:
        return _check(args.ready_file)
    if not (args.owner and args.owner_password_file):
        print(f"{_PROG}: error: --owner and --owner-password-file are required", file=sys.stderr)
        return 2
    if not 1 <= args.interval <= 3600:
        print(f"{_PROG}: error: --interval must be 1 to 3600 seconds", file=sys.stderr)
        return 2
    try:
        import psycopg
    except ImportError:
        error = MissingExtraError(_PROG, "django", "psycopg")
        print(f"{_PROG}: error: {error}", file=sys.stderr)
        return 2
    try:
        if not _OWNER.fullmatch(args.owner):
            raise DatabaseRoleError(
                f"--owner {args.owner[:64]!r} is not a lower-case PostgreSQL name", file="--owner"
            )
        password = read_bounded(args.owner_password_file, MAX_SECRET_FILE,
                                what="owner password secret").decode("utf-8").strip()  # fmt: skip
        files = [*args.uri, *(f for f in args.uri_if_present if os.path.exists(f))]
        if not files:
            raise DatabaseRoleError("no URI secret to make a role of", file="--uri")
        roles = [read_login_role(path, args.owner) for path in files]
    except UnicodeDecodeError:
        print(f"{_PROG}: error: {args.owner_password_file}: not UTF-8", file=sys.stderr)
        return 2
    except SwarmkitError as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    problem: str | None = ""
    while True:
        try:
            with _connect_owner(roles[0], args.owner, password) as connection:
                report = sync_roles(connection, args.owner, roles)
        except psycopg.Error as exc:
            _mark(args.ready_file, None)
            # psycopg's first line names the host and the cause, never the password.
            now = f"cannot sync as {args.owner}: {str(exc).strip().splitlines()[0][:300]}"
            if now != problem:
                print(f"{_PROG}: {now}", file=sys.stderr, flush=True)
            problem = now
            if args.once:
                return 1
        else:
            _mark(args.ready_file, time.time() + 3 * args.interval + 10)
            for name in report.made:
                print(f"{_PROG}: login role {name} ready", flush=True)
            if report.disabled:
                print(f"{_PROG}: login taken from {', '.join(report.disabled)} "
                      f"({report.ended_sessions} sessions ended)", flush=True)  # fmt: skip
            if problem is not None and not report.made:
                print(f"{_PROG}: login roles in sync: {', '.join(r.name for r in roles)}",
                      flush=True)  # fmt: skip
            problem = None
            if args.once:
                return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
