"""``manage.py migrate_locked``: ``migrate`` under a PostgreSQL advisory lock.

Every app container runs it as it starts (docker/production/entrypoint.sh),
so during a rolling update, or when several replicas start at once, they
would all migrate at the same moment. The session-level advisory lock lets
one of them migrate while the others wait for it; they then find nothing to
do. The lock belongs to the database session, so it goes away with the
process, even when the process is killed.

First it waits (``--wait-for-database``, 120 s) until the database accepts
its login: at a first deploy PostgreSQL may still be starting, and after a
rotation of database_uri the new version's login role appears only once
db-roles has made it. The update then waits too, instead of failing and
rolling back.

A failed migration raises, the command exits non-zero, the container stops
before gunicorn starts and never becomes healthy, and Swarm rolls the update
back (``failure_action: rollback``). On a database other than PostgreSQL the
command just migrates.
"""

import hashlib
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connections

# The same key in every release and every container of this project: a
# positive 64-bit number derived from a fixed name.
LOCK_NAME = "{{ cookiecutter.project_slug }}:migrate"
LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big") >> 1


class Command(BaseCommand):
    help = "Run migrate under a PostgreSQL advisory lock: one container migrates at a time."

    def add_arguments(self, parser):
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database to migrate (default: %(default)s).",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=600.0,
            help="Seconds to wait for the lock before giving up (default: %(default)s).",
        )
        parser.add_argument(
            "--wait-for-database",
            type=float,
            default=120.0,
            help="Seconds to wait for the database to accept the login (default: %(default)s).",
        )

    def handle(self, *args, database, timeout, wait_for_database, verbosity, **options):
        connection = connections[database]
        self._wait_for_login(connection, wait_for_database)
        if connection.vendor != "postgresql":
            call_command("migrate", database=database, interactive=False, verbosity=verbosity)
            return
        self._lock(connection, timeout)
        try:
            call_command("migrate", database=database, interactive=False, verbosity=verbosity)
        finally:
            self._unlock(connection)

    def _wait_for_login(self, connection, wait):
        deadline = time.monotonic() + wait
        said = None
        while True:
            try:
                connection.ensure_connection()
                return
            except OperationalError as exc:
                # The driver's first line: host and cause, never the password.
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                if time.monotonic() >= deadline:
                    raise CommandError(
                        f"the database did not accept the login within {wait:g} s: {reason}"
                    ) from None
                if reason != said:
                    self.stdout.write(f"Waiting for the database: {reason}")
                    said = reason
            time.sleep(2)

    def _lock(self, connection, timeout):
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                if cursor.fetchone()[0]:
                    break
            if not waiting:
                self.stdout.write("Another container is migrating; waiting for the migration lock.")
                waiting = True
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"the migration lock was still taken after {timeout:g} s: is a migration "
                    "stuck? (pg_stat_activity shows the session that holds it)"
                )
            time.sleep(0.5)
        if waiting:
            self.stdout.write("Got the migration lock.")

    def _unlock(self, connection):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        except DatabaseError:
            # A failed migration can leave the session unusable; closing it
            # releases the lock as well.
            connection.close()
