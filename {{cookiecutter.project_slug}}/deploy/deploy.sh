#!/bin/sh
# Deploy {{ cookiecutter.project_name }} to one environment's swarm:
#
#   TAG=<commit SHA> deploy/deploy.sh staging|production [swarmkit deploy options]
#   TAG=<commit SHA> REVIEW_SLUG=<branch slug> REVIEW_ID=<merge request number> \
#       deploy/deploy.sh review [swarmkit deploy options]
#   REVIEW_SLUG=<branch slug> deploy/deploy.sh review-stop
#
# review: a merge request's own stack review-<slug> on the staging swarm (slug:
# REVIEW_SLUG as a DNS label; one over 30 characters cut to 23 and a hash of
# the whole, so that every object name stays within Swarm's limits), with its
# own database (its db-data volume), its own secrets (version 1, made here at
# its first deploy, labelled as the stack's), the
# staging TLS pair, and its own ports: HTTP on REVIEW_PORT_BASE (default
# 20000) + 2 x REVIEW_ID, HTTPS on the next one (host mode: two stacks cannot
# share a port). Its hostname is REVIEW_HOST (default
# <slug>.review.{{ cookiecutter.domain_name }}), its URL https://<REVIEW_HOST>:<HTTPS port>/, written
# as REVIEW_URL=... to the file REVIEW_DOTENV when set (the job's dotenv
# report: GitLab's environment URL). review-stop removes the stack, its
# configs, secrets and volumes (`swarmkit rm --volumes`).
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
# DEPLOY_STACK_FILES (optional, space-separated paths from the project root):
# more stack files merged over the environment's, linted and deployed with
# them, e.g. a site's own overrides kept out of the shared files (a CI/CD
# variable reaches the deploy job unchanged).
#
# Needs swarmkit with its deploy extra (pip install --no-deps --require-hashes
# -r requirements/deploy.txt, as the deploy job does), DOCKER_HOST naming a manager
# of that environment's swarm (ssh://user@manager; swarmkit reads DOCKER_HOST,
# not docker contexts) and the docker CLI logged in to the registry:
# swarmkit deploy always sends those credentials to the swarm, which pulls
# with them.
set -eu

usage() {
    echo "usage: TAG=<commit SHA> $0 staging|production|review [swarmkit deploy options, e.g. --timeout 15m]" >&2
    echo "       REVIEW_SLUG=<branch slug> $0 review-stop" >&2
    exit 2
}

# A review app's own secrets, version 1, unless its earlier deploys made
# them: labelled with the stack's namespace, so that `swarmkit rm` (and
# `docker stack rm`) removes them with the stack. Values are generated on the
# swarm's side or piped on stdin, never on a command line. The one place that
# knows the review app's secrets: keep it in step with stack.yml's.
create_review_secrets() {
    label=com.docker.stack.namespace=$stack
    existing=$(docker secret ls --filter "label=$label" --format '{% raw %}{{.Name}}{% endraw %}')
    has_secret() { # NAME: version 1 of it exists
        case " $(echo "$existing" | tr '\n' ' ') " in
            *" ${stack}_$1_v1 "*) return 0 ;;
        esac
        return 1
    }
    new_secret() { # NAME [swarmkit secret create options]: unless it exists
        name=$1
        shift
        has_secret "$name" && return 0
        swarmkit secret create "$stack" "$name" --prefix "$stack" --version 1 --label "$label" "$@" >/dev/null
    }
    new_secret secret_key --generate base64:48
{%- if cookiecutter.use_cron == 'y' %}
    new_secret cron_api_key --generate hex:32
{%- endif %}
    # The owner's password, and the app's URI with a password of its own for
    # the login role {{ cookiecutter.project_slug }}_v1 (db-roles makes it).
    new_secret database_password --generate hex:24
    new_secret database_uri --generate 'postgresql://{{ cookiecutter.project_slug }}_v{version}:{password}@db:5432/{{ cookiecutter.project_slug }}?connect_timeout=2'
}

[ $# -ge 1 ] || usage
env=$1
shift
case $env in
    staging | production) stack={{ cookiecutter.project_slug }}_$env ;;
    review | review-stop)
        [ -n "${REVIEW_SLUG:-}" ] || { echo "set REVIEW_SLUG (e.g. \$CI_COMMIT_REF_SLUG) for a review app" >&2; exit 2; }
        # Lower-case letters, digits and dashes, as a DNS label; at most 30
        # characters, for a config's name <stack>_db_entrypoint_<hash> has at
        # most 64. A longer one keeps 23 and ends in 6 hex digits of its
        # SHA-256, as GitLab's CI_ENVIRONMENT_SLUG does, so that two branches
        # alike in their first 30 characters still get two review apps.
        slug=$(printf '%s' "$REVIEW_SLUG" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9' '-' | sed 's/^-*//; s/-*$//')
        [ -n "$slug" ] || { echo "REVIEW_SLUG has no letter or digit: $REVIEW_SLUG" >&2; exit 2; }
        if [ "$(printf '%s' "$slug" | wc -c)" -gt 30 ]; then
            slug=$(printf '%s' "$slug" | cut -c1-23 | sed 's/-*$//')-$(printf '%s' "$slug" | sha256sum | cut -c1-6)
        fi
        stack=review-$slug
        ;;
    *) usage ;;
esac

cd "$(dirname "$0")/.."
if [ "$env" = review-stop ]; then
    # The stack, then its configs, secrets and volumes (its database). The
    # staging TLS pair is not the stack's: it stays.
    exec swarmkit rm "$stack" --volumes
fi
if [ "$env" = review ]; then
    case ${REVIEW_ID:-} in
        "" | *[!0-9]*) echo "set REVIEW_ID to the merge request's number (e.g. \$CI_MERGE_REQUEST_IID)" >&2; exit 2 ;;
    esac
    HTTP_PORT=$(( ${REVIEW_PORT_BASE:-20000} + 2 * REVIEW_ID ))
    HTTPS_PORT=$(( HTTP_PORT + 1 ))
    [ "$HTTPS_PORT" -le 65535 ] || { echo "review port $HTTPS_PORT is above 65535: lower REVIEW_PORT_BASE" >&2; exit 2; }
    REVIEW_HOST=${REVIEW_HOST:-$slug.review.{{ cookiecutter.domain_name }}}
    REVIEW_URL=https://$REVIEW_HOST:$HTTPS_PORT
    SECRETS_PREFIX=$stack
    export HTTP_PORT HTTPS_PORT REVIEW_HOST REVIEW_URL SECRETS_PREFIX
    if [ -n "${REVIEW_DOTENV:-}" ]; then
        printf 'REVIEW_URL=%s/\nREVIEW_STACK=%s\n' "$REVIEW_URL" "$stack" > "$REVIEW_DOTENV"
    fi
    create_review_secrets
fi
env_file=deploy/$env.env

# During a SECRET_KEY rotation the old keys stay valid through the
# secret_key_fallbacks secret (README: "Rotate a secret").
fallbacks=
if [ -n "${SECRET_KEY_FALLBACKS_VERSION:-}" ] \
    || grep -q '^SECRET_KEY_FALLBACKS_VERSION=..*' "$env_file"; then
    fallbacks=deploy/stack.secret-key-fallbacks.yml
fi
# During a database_uri rotation, the previous URI's login role (the same rule).
database_previous=
if [ -n "${DATABASE_PREVIOUS_VERSION:-}" ] \
    || grep -q '^DATABASE_PREVIOUS_VERSION=..*' "$env_file"; then
    database_previous=deploy/stack.database-previous.yml
fi
{%- if cookiecutter.use_cron == 'y' %}
# During a cron_api_key rotation, the previous key (the same rule).
cron_fallbacks=
if [ -n "${CRON_API_KEY_FALLBACKS_VERSION:-}" ] \
    || grep -q '^CRON_API_KEY_FALLBACKS_VERSION=..*' "$env_file"; then
    cron_fallbacks=deploy/stack.cron-key-fallbacks.yml
fi
{%- endif %}

# The stack files, as words: DEPLOY_STACK_FILES is space-separated, so no
# path has a space in it.
files="-c deploy/stack.yml -c deploy/stack.$env.yml${fallbacks:+ -c $fallbacks}"
files="$files${database_previous:+ -c $database_previous}"
{%- if cookiecutter.use_cron == 'y' %}
files="$files${cron_fallbacks:+ -c $cron_fallbacks}"
{%- endif %}
for file in ${DEPLOY_STACK_FILES:-}; do
    [ -f "$file" ] || { echo "DEPLOY_STACK_FILES: $file is not a file" >&2; exit 2; }
    files="$files -c $file"
done

# shellcheck disable=SC2086 # $files is split into words on purpose
swarmkit lint $files --env-file "$env_file"

# shellcheck disable=SC2086
exec swarmkit deploy $files --env-file "$env_file" "$@" --name "$stack" --prune
