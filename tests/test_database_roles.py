"""``python -m swarmkit.database_roles`` on a real PostgreSQL that checks passwords.

A cluster of its own (SCRAM-SHA-256 over TCP, every statement logged) with
an owner role ``shop`` that is a superuser, as the postgres image's
``POSTGRES_USER`` is. Under ``CI=true`` a missing PostgreSQL fails.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from swarmkit.database_roles import main, read_login_role, sync_roles
from swarmkit.exceptions import DatabaseRoleError
from tests.django.servers import PostgresServer, running_postgres

OWNER_PASSWORD = "owner-Pw-7f3a9c"


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with running_postgres(password="superuser-pw") as pg:
        # Every statement in the server's log: a password must not be in any.
        pg.sql("ALTER SYSTEM SET log_statement = 'all'")
        pg.sql("SELECT pg_reload_conf()")
        yield pg


@pytest.fixture
def shop(server: PostgresServer) -> Iterator[PostgresServer]:
    """The owner role ``shop`` (superuser, with a password) and its database, made anew."""
    server.sql('DROP DATABASE IF EXISTS "shop" WITH (FORCE)')
    for (name,) in server.sql("SELECT rolname FROM pg_roles WHERE rolname ~ '^shop'"):
        server.sql(f'DROP ROLE "{name}"')
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("SET log_statement = 'none'")  # the owner's password stays out of the log
        conn.execute(f"CREATE ROLE shop SUPERUSER LOGIN PASSWORD '{OWNER_PASSWORD}'")
    # SQL_ASCII, as a cluster made without a UTF-8 locale (the postgres
    # stand-in's): psycopg returns its text as bytes unless told the encoding.
    server.sql(
        "CREATE DATABASE shop OWNER shop ENCODING 'SQL_ASCII' TEMPLATE template0 "
        "LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    yield server


def uri_file(tmp_path: Path, server: PostgresServer, name: str, user: str, password: str) -> str:
    path = tmp_path / name
    path.write_text(
        f"postgresql://{user}:{password}@127.0.0.1:{server.port}/shop?connect_timeout=2\n"
    )
    return str(path)


def owner_file(tmp_path: Path) -> str:
    path = tmp_path / "database_password"
    path.write_text(OWNER_PASSWORD)
    return str(path)


def login(
    server: PostgresServer, user: str, password: str
) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(host="127.0.0.1", port=server.port, dbname="shop", user=user,
                           password=password, autocommit=True, connect_timeout=5,
                           client_encoding="utf8")  # fmt: skip


def run(tmp_path: Path, *args: str) -> int:
    return main(["--owner", "shop", "--owner-password-file", owner_file(tmp_path),
                 "--ready-file", str(tmp_path / "ready"), "--once", *args])  # fmt: skip


def test_version_one_logs_in_as_the_owner_and_its_tables_are_the_owners(
    shop: PostgresServer, tmp_path: Path
) -> None:
    v1 = uri_file(tmp_path, shop, "database_uri", "shop_v1", "pw-one-a8d2")
    assert run(tmp_path, "--uri", v1) == 0
    with login(shop, "shop_v1", "pw-one-a8d2") as conn:
        assert conn.execute("SELECT current_user, session_user").fetchone() == ("shop", "shop_v1")
        conn.execute("CREATE TABLE visits (id int)")
    with login(shop, "shop", OWNER_PASSWORD) as conn:
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'visits'")
        assert owner.fetchall() == [("shop",)]
    assert main(["--check", "--ready-file", str(tmp_path / "ready")]) == 0


def test_a_rotation_keeps_both_then_the_previous_loses_login(
    shop: PostgresServer, tmp_path: Path
) -> None:
    v1 = uri_file(tmp_path, shop, "database_uri_v1", "shop_v1", "pw-one-a8d2")
    v2 = uri_file(tmp_path, shop, "database_uri_v2", "shop_v2", "pw-two-91bc")
    assert run(tmp_path, "--uri", v1) == 0
    old_session = login(shop, "shop_v1", "pw-one-a8d2")
    old_session.execute("CREATE TABLE orders (id int)")
    # During the rotation: the new URI and the previous one.
    assert run(tmp_path, "--uri", v2, "--uri-if-present", v1) == 0
    with login(shop, "shop_v2", "pw-two-91bc") as conn:
        conn.execute("INSERT INTO orders VALUES (1)")  # the v1 session's table
    assert old_session.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    with login(shop, "shop_v1", "pw-one-a8d2") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # The deploy after it: v2 only. v1 cannot log in, its session is ended.
    assert run(tmp_path, "--uri", v2, "--uri-if-present", str(tmp_path / "absent")) == 0
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        login(shop, "shop_v1", "pw-one-a8d2")
    with pytest.raises(psycopg.OperationalError):
        old_session.execute("SELECT 1")
    with login(shop, "shop_v2", "pw-two-91bc") as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (1,)


def test_a_sync_with_nothing_to_do_changes_nothing_and_repairs_a_changed_password(
    shop: PostgresServer, tmp_path: Path
) -> None:
    v1 = uri_file(tmp_path, shop, "database_uri", "shop_v1", "pw-one-a8d2")
    role = read_login_role(v1, "shop")
    with login(shop, "shop", OWNER_PASSWORD) as conn:
        assert sync_roles(conn, "shop", [role]).made == ("shop_v1",)
        assert sync_roles(conn, "shop", [role]).made == ()
        conn.execute("ALTER ROLE shop_v1 PASSWORD 'someone-else-set-this'")
        assert sync_roles(conn, "shop", [role]).made == ("shop_v1",)
    with login(shop, "shop_v1", "pw-one-a8d2") as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("shop",)


def test_no_password_reaches_the_servers_log_or_the_output(
    shop: PostgresServer, tmp_path: Path
) -> None:
    v1 = uri_file(tmp_path, shop, "database_uri", "shop_v1", "pw-canary-5e1f0d")
    done = subprocess.run(
        [sys.executable, "-m", "swarmkit.database_roles", "--owner", "shop",
         "--owner-password-file", owner_file(tmp_path), "--uri", v1, "--once",
         "--ready-file", str(tmp_path / "ready")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "swarmkit.database_roles: login role shop_v1 ready\n"
    log = (shop.root / "server.log").read_text(errors="replace")
    assert "CREATE ROLE" in log  # the statements are logged, verifiers only
    for secret in ("pw-canary-5e1f0d", OWNER_PASSWORD):
        assert secret not in log and secret not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("postgresql://shop:pw-canary@db:5432/shop", "the URI's user is shop, not shop_v<N>"),
        ("postgresql://admin_v1:pw-canary@db/shop", "the URI's user is admin_v1, not shop_v<N>"),
        ("postgresql://shop_v0:pw-canary@db/shop", "not shop_v<N>"),
        ("postgresql://shop_v1@db/shop", "the URI has no password"),
        ("postgresql://shop_v1:pw-canary@db/", "not a postgresql://USER:PASSWORD@HOST"),
        ("mysql://shop_v1:pw-canary@db/shop", "not a postgresql://USER:PASSWORD@HOST"),
        ("postgresql://shop_v1:pw-canary@db:99999/shop", "not a postgresql:// URI (or a bad port)"),
        ("postgresql://x%0Ay:pw-canary@db/shop", "the URI's user is (not shown)"),
    ],
)
def test_a_uri_that_cannot_be_a_login_role_is_one_line_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    path = tmp_path / "database_uri"
    path.write_text(text)
    with pytest.raises(DatabaseRoleError) as raised:
        read_login_role(str(path), "shop")
    assert needle in str(raised.value) and str(path) in str(raised.value)
    assert run(tmp_path, "--uri", str(path)) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and needle in err and "pw-canary" not in err


def test_bad_owner_missing_file_and_no_uri_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--owner", "Shop; DROP", "--owner-password-file", owner_file(tmp_path),
                 "--uri", "x", "--once"]) == 2  # fmt: skip
    assert "is not a lower-case PostgreSQL name" in capsys.readouterr().err
    assert run(tmp_path, "--uri", str(tmp_path / "missing")) == 2
    assert "missing" in capsys.readouterr().err
    assert run(tmp_path, "--uri-if-present", str(tmp_path / "missing")) == 2
    assert "no URI secret to make a role of" in capsys.readouterr().err
    assert main(["--owner", "shop", "--owner-password-file", owner_file(tmp_path), "--uri",
                 "x", "--interval", "0"]) == 2  # fmt: skip
    assert "--interval must be 1 to 3600 seconds" in capsys.readouterr().err
    assert main(["--uri", "x"]) == 2
    assert "--owner and --owner-password-file are required" in capsys.readouterr().err


def test_an_unreachable_database_is_one_line_and_unhealthy(
    shop: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = uri_file(tmp_path, shop, "database_uri", "shop_v1", "pw-one-a8d2")
    (tmp_path / "database_password").write_text("wrong-owner-pw")
    args = ["--owner", "shop", "--owner-password-file", str(tmp_path / "database_password"),
            "--uri", v1, "--once", "--ready-file", str(tmp_path / "ready")]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("swarmkit.database_roles: cannot sync as shop: ")
    assert "password authentication failed" in err and "wrong-owner-pw" not in err
    assert main(["--check", *args]) == 1
    assert "no successful sync yet" in capsys.readouterr().err
