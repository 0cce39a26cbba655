#!/bin/sh
# Deploy {{ cookiecutter.project_name }} to one environment's swarm:
#
#   TAG=<commit SHA> deploy/deploy.sh staging|production
#
# The stack is deploy/stack.yml with deploy/stack.<env>.yml over it, and the
# variables of deploy/<env>.env (the environment wins over the file). It is
# linted first; a lint error stops the deploy. The stack is named
# {{ cookiecutter.project_slug }}_<env>.
#
# Needs swarmkit (pip install swarm-django, the version of
# requirements/production.txt) and the docker CLI talking to a manager of
# that environment's swarm (DOCKER_HOST=ssh://user@manager, or a docker
# context), logged in to the registry: the swarm pulls with those
# credentials (--with-registry-auth).
set -eu

usage() {
    echo "usage: TAG=<commit SHA> $0 staging|production" >&2
    exit 2
}

[ $# -eq 1 ] || usage
env=$1
case $env in
    staging | production) ;;
    *) usage ;;
esac

cd "$(dirname "$0")/.."
stack={{ cookiecutter.project_slug }}_$env
env_file=deploy/$env.env

set -- -c deploy/stack.yml -c "deploy/stack.$env.yml"
# During a SECRET_KEY rotation the old keys stay valid through the
# secret_key_fallbacks secret (README: "Rotate a secret").
if [ -n "${SECRET_KEY_FALLBACKS_VERSION:-}" ] \
    || grep -q '^SECRET_KEY_FALLBACKS_VERSION=..*' "$env_file"; then
    set -- "$@" -c deploy/stack.secret-key-fallbacks.yml
fi
set -- "$@" --env-file "$env_file"

swarmkit lint "$@"

# `swarmkit deploy` (a later swarm-django release) deploys and waits until the
# stack has converged or rolled back. Until it is installed: render the stack
# with content-named configs (a changed nginx.conf becomes a new config, and
# the proxy rolls to it) and hand it to `docker stack deploy`.
if swarmkit deploy --help >/dev/null 2>&1; then
    exec swarmkit deploy "$@" --name "$stack" --with-registry-auth
fi

rendered=$(mktemp "${TMPDIR:-/tmp}/$stack.XXXXXX")
trap 'rm -f "$rendered"' EXIT
swarmkit config "$@" --hash-names "$stack" -o "$rendered"

# Docker CLI 26+ returns at once unless told to wait for the services to
# converge; older ones have no such option and never wait.
wait_flag=""
if docker stack deploy --help 2>/dev/null | grep -q -- '--detach'; then
    wait_flag=--detach=false
fi
# shellcheck disable=SC2086 # $wait_flag is one word or none
docker stack deploy --with-registry-auth --prune $wait_flag -c "$rendered" "$stack"
