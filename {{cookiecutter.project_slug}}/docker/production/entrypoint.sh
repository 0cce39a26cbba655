#!/bin/sh
# Entrypoint of the production image.
#
# Before the command (gunicorn by default) starts, apply the migrations under
# a PostgreSQL advisory lock (manage.py migrate_locked): replicas that start
# together wait for each other instead of migrating at once, and the ones that
# come second find nothing left to do. A failed migration exits non-zero, so
# the new task never becomes healthy and Swarm rolls the update back.
#
# MIGRATE_ON_START=0 skips it: the scheduler service, one-off commands
# (docker run IMAGE python manage.py ...), a database that is migrated by hand.
set -eu

case "${MIGRATE_ON_START:-1}" in
    0 | false | no | off) ;;
    *) python manage.py migrate_locked ;;
esac

exec "$@"
