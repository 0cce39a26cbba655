#!/bin/sh
# Deploy {{ cookiecutter.project_name }} to one environment's swarm:
#
#   TAG=<commit SHA> deploy/deploy.sh staging|production [swarmkit deploy options]
#
# The stack is deploy/stack.yml with deploy/stack.<env>.yml over it, and the
# variables of deploy/<env>.env (the environment wins over the file). It is
# linted first; a lint error stops the deploy. Then `swarmkit deploy` deploys
# it as the stack {{ cookiecutter.project_slug }}_<env> (configs named after their content: a
# changed nginx.conf becomes a new config and the proxy rolls to it; services
# no longer in the files are removed) and waits until every service has
# converged. It exits (with a report of the failing services before the
# error line):
#   0  the stack has converged;
#   1  a lint error; or Swarm paused the update, or the wait timed out; or
#      Swarm rolled the update back and the previous release runs again
#      ("rolled back to <image>"): the release failed, production is fine;
#   2  bad input, or no manager answers;
#   3  the rollback failed too (paused, the previous image cannot be pulled,
#      or not finished within --rollback-timeout): the stack runs a mix of
#      releases, someone must look now.
#
# Options after the environment go to `swarmkit deploy` only (not to the
# lint), e.g. `deploy/deploy.sh staging --timeout 15m` (default 10m),
# `--rollback-timeout 5m` (how long to wait for Swarm's rollback after a
# failed update; default 10m), or `--no-wait`.
#
# Needs swarmkit with its deploy extra (pip install --no-deps --require-hashes
# -r requirements/deploy.txt, as the deploy job does), DOCKER_HOST naming a manager
# of that environment's swarm (ssh://user@manager; swarmkit reads DOCKER_HOST,
# not docker contexts) and the docker CLI logged in to the registry:
# swarmkit deploy always sends those credentials to the swarm, which pulls
# with them.
set -eu

usage() {
    echo "usage: TAG=<commit SHA> $0 staging|production [swarmkit deploy options, e.g. --timeout 15m]" >&2
    exit 2
}

[ $# -ge 1 ] || usage
env=$1
shift
case $env in
    staging | production) ;;
    *) usage ;;
esac

cd "$(dirname "$0")/.."
stack={{ cookiecutter.project_slug }}_$env
env_file=deploy/$env.env

# During a SECRET_KEY rotation the old keys stay valid through the
# secret_key_fallbacks secret (README: "Rotate a secret").
fallbacks=
if [ -n "${SECRET_KEY_FALLBACKS_VERSION:-}" ] \
    || grep -q '^SECRET_KEY_FALLBACKS_VERSION=..*' "$env_file"; then
    fallbacks=deploy/stack.secret-key-fallbacks.yml
fi

swarmkit lint -c deploy/stack.yml -c "deploy/stack.$env.yml" \
    ${fallbacks:+-c "$fallbacks"} --env-file "$env_file"

exec swarmkit deploy -c deploy/stack.yml -c "deploy/stack.$env.yml" \
    ${fallbacks:+-c "$fallbacks"} --env-file "$env_file" \
    "$@" --name "$stack" --prune
