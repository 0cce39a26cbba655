"""``manage.py migrate_locked``, run as the entrypoint runs it, on fresh databases."""

import subprocess
import sys
import time
from pathlib import Path

import psycopg

from {{ cookiecutter.project_slug }}.management.commands.migrate_locked import LOCK_KEY

PROJECT = Path(__file__).resolve().parent.parent


def start(project_env, database):
    return subprocess.Popen(
        [sys.executable, "manage.py", "migrate_locked", "--timeout", "60"],
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
