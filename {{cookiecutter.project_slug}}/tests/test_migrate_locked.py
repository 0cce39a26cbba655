"""``manage.py migrate_locked``, run as the entrypoint runs it, on fresh databases."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from {{ cookiecutter.project_slug }}.management.commands.migrate_locked import LOCK_KEY

PROJECT = Path(__file__).resolve().parent.parent


def start(project_env, database, *args):
    return subprocess.Popen(
        [sys.executable, "manage.py", "migrate_locked", "--timeout", "60", *args],
        cwd=PROJECT,
        env=project_env(SECRET_KEY="s" * 50, CRON_API_KEY="k" * 64, DATABASE_URI=database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tables(database):
    with psycopg.connect(database) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}


def lock_is_free(database):
    with psycopg.connect(database, autocommit=True) as conn:
        if conn.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
            return True
        return False


def test_migrate_locked_migrates(fresh_database, project_env):
    done = start(project_env, fresh_database)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, out + err
    assert {"django_migrations", "visits_visit", "swarmkit_cronrun"} <= tables(fresh_database)
    assert lock_is_free(fresh_database)


def test_migrate_locked_waits_while_another_container_holds_the_lock(fresh_database, project_env):
    with psycopg.connect(fresh_database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        waiting = start(project_env, fresh_database)
        try:
            time.sleep(3)
            assert waiting.poll() is None, waiting.communicate()
            assert "django_migrations" not in tables(fresh_database)
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, out + err
    assert "waiting for the migration lock" in out
    assert "visits_visit" in tables(fresh_database)


def test_containers_starting_together_migrate_one_at_a_time(fresh_database, project_env):
    # Unlocked, migrate runs on one empty database would collide.
    runs = [start(project_env, fresh_database) for _ in range(3)]
    for run in runs:
        out, err = run.communicate(timeout=180)
        assert run.returncode == 0, out + err
    assert "visits_visit" in tables(fresh_database)


def test_a_failed_migration_exits_non_zero(fresh_database, project_env):
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE visits_visit (id integer)")  # in the migration's way
    done = start(project_env, fresh_database)
    _, err = done.communicate(timeout=120)
    assert done.returncode != 0
    assert "visits_visit" in err
    assert lock_is_free(fresh_database)


def as_user(database, user, password):
    parts = urlsplit(database)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


def test_migrate_locked_waits_for_its_login_role(fresh_database, project_env):
    # After a rotation of database_uri, the new version's login role appears
    # only once db-roles has made it: the new task waits instead of failing.
    role = f"late_{uuid.uuid4().hex[:8]}"
    name = urlsplit(fresh_database).path.lstrip("/")
    waiting = start(
        project_env, as_user(fresh_database, role, f"pw-{role}"), "--wait-for-database", "90"
    )
    try:
        time.sleep(4)
        assert waiting.poll() is None, waiting.communicate()
        with psycopg.connect(os.environ["DATABASE_URI"], autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'")
            admin.execute(f'ALTER DATABASE "{name}" OWNER TO {role}')
        out, err = waiting.communicate(timeout=120)
    finally:
        waiting.kill()
        with psycopg.connect(os.environ["DATABASE_URI"], autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"DROP ROLE IF EXISTS {role}")
    assert waiting.returncode == 0, out + err
    assert "Waiting for the database: " in out
    assert role in out
    assert f"pw-{role}" not in out + err


def test_migrate_locked_gives_up_on_a_login_that_never_works(fresh_database, project_env):
    role = f"never_{uuid.uuid4().hex[:8]}"
    done = start(
        project_env, as_user(fresh_database, role, f"pw-{role}"), "--wait-for-database", "3"
    )
    out, err = done.communicate(timeout=60)
    assert done.returncode != 0
    assert "the database did not accept the login within 3 s" in err
    assert f"pw-{role}" not in out + err
