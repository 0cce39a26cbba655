#!/bin/sh
# Entry point of the db service (a Swarm config, run by the postgres image's
# sh): the image's own docker-entrypoint.sh, except that the database server
# never keeps the password in its environment.
#
# The image reads POSTGRES_PASSWORD_FILE (the Swarm secret) into
# POSTGRES_PASSWORD, needs it only to create the cluster, and yet hands it on
# to the server it starts: anyone who can read the server's environment
# (docker inspect of the process, /proc/<pid>/environ) would see it.
#
# - First start (no cluster yet): the image's entrypoint creates the cluster
#   with the password and starts the server; once the server answers on TCP
#   (the entrypoint's own set-up server listens on the socket only), it is
#   stopped again.
# - Then, and at every later start: the image's entrypoint without the
#   password (an existing cluster does not need it).
set -eu

: "${PGDATA:?set PGDATA}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    docker-entrypoint.sh "$@" &
    server=$!
    until pg_isready -q -h 127.0.0.1 -p 5432; do
        kill -0 "$server" 2>/dev/null || { wait "$server"; exit 1; }
        sleep 1
    done
    kill -INT "$server"
    wait "$server" || true
fi

unset POSTGRES_PASSWORD POSTGRES_PASSWORD_FILE
exec docker-entrypoint.sh "$@"
