#!/bin/sh
# The backup service's loop (a Swarm config, run by the postgres image's sh).
#
# Every BACKUP_INTERVAL seconds: pg_dump -Fc of PGDATABASE on PGHOST into
# BACKUP_DIR/<database>-<UTC time>.dump, checked with pg_restore --list, then
# only the BACKUP_KEEP newest dumps are kept. The interval is counted from
# the newest dump, so a restarted service does not dump again at once.
# A failed dump is logged and tried again after BACKUP_RETRY seconds.
#
# The password is read from the Swarm secret file for each dump and handed to
# pg_dump alone; it is never in the service's environment.
#
# Restore: see "Back up and restore" in the README.
set -eu

BACKUP_DIR=${BACKUP_DIR:-/backups}
BACKUP_INTERVAL=${BACKUP_INTERVAL:-86400}
BACKUP_KEEP=${BACKUP_KEEP:-14}
BACKUP_RETRY=${BACKUP_RETRY:-60}
PASSWORD_FILE=${DATABASE_PASSWORD_FILE:-/run/secrets/database_password}
: "${PGHOST:?set PGHOST}" "${PGUSER:?set PGUSER}" "${PGDATABASE:?set PGDATABASE}"

log() {
    printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

for number in "$BACKUP_INTERVAL" "$BACKUP_KEEP" "$BACKUP_RETRY"; do
    case $number in
        '' | *[!0-9]* | 0)
            log "BACKUP_INTERVAL, BACKUP_KEEP and BACKUP_RETRY must be positive integers"
            exit 2
            ;;
    esac
done

# Stop between dumps at once; a dump in progress is left unfinished (its
# .partial file is removed at the next start).
trap 'log "stopping"; exit 0' INT TERM

# Seconds since the newest dump was written, or a large number if none.
age_of_newest() {
    newest=""
    for dump in "$BACKUP_DIR/$PGDATABASE"-*.dump; do
        [ -e "$dump" ] && newest=$dump
    done
    if [ -z "$newest" ]; then
        echo 999999999
        return
    fi
    echo $(($(date +%s) - $(stat -c %Y "$newest")))
}

dump() {
    target="$BACKUP_DIR/$PGDATABASE-$(date -u +%Y%m%dT%H%M%SZ).dump"
    partial="$target.partial"
    if ! PGPASSWORD=$(cat "$PASSWORD_FILE") pg_dump --format=custom --file="$partial"; then
        rm -f "$partial"
        return 1
    fi
    if ! pg_restore --list "$partial" >/dev/null; then
        log "$partial is not a readable dump"
        rm -f "$partial"
        return 1
    fi
    mv "$partial" "$target"
    log "wrote $target ($(du -h "$target" | cut -f1))"
}

# Dumps sort by name in time order (UTC timestamps): drop the oldest ones.
prune() {
    count=0
    for dump in "$BACKUP_DIR/$PGDATABASE"-*.dump; do
        [ -e "$dump" ] && count=$((count + 1))
    done
    excess=$((count - BACKUP_KEEP))
    for dump in "$BACKUP_DIR/$PGDATABASE"-*.dump; do
        [ "$excess" -gt 0 ] || break
        rm -f "$dump"
        log "removed $dump (keeping the $BACKUP_KEEP newest)"
        excess=$((excess - 1))
    done
}

rm -f "$BACKUP_DIR/$PGDATABASE"-*.dump.partial
log "every ${BACKUP_INTERVAL}s: $PGDATABASE on $PGHOST into $BACKUP_DIR, keeping $BACKUP_KEEP"
while :; do
    age=$(age_of_newest)
    if [ "$age" -ge "$BACKUP_INTERVAL" ]; then
        if dump; then
            prune
            wait_for=$BACKUP_INTERVAL
        else
            log "dump failed; next try in ${BACKUP_RETRY}s"
            wait_for=$BACKUP_RETRY
        fi
    else
        wait_for=$((BACKUP_INTERVAL - age))
    fi
    # In the background, so that a stop signal ends the wait at once.
    sleep "$wait_for" &
    wait $!
done
