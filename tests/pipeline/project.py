"""The pipeline suite's project, its git repository, and the swarm objects it deploys.

The project "Pipeline Shop" (slug ``pipeline_shop``: every swarm object it makes starts with "pipeline") is baked from this checkout's
template and becomes a git repository on the branch ``development`` (what
the staging deploy job runs for), with a GitLab ``origin``. Everything the
suite creates on the engine: the stacks ``pipeline_shop_staging`` and
``review-pipeline-*``, the secrets labelled :data:`LABEL`, the node label
``pipeline_shop.db`` and the images of the registry path ``.../pipeline/pipeline-shop``.
:func:`cleanup` removes all of it; the suite calls it first and last.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.e2e import harness
from tests.e2e.harness import docker, lines, wait_until

__all__ = [
    "LABEL", "OVERLAY", "OVERLAY_FILE", "REPOSITORY", "SLUG", "STACK", "cleanup", "commit",
    "create_secrets", "git_repository", "leftovers", "remove_stack", "service_image",
]  # fmt: skip

PROJECT_NAME = "Pipeline Shop"
SLUG = "pipeline_shop"
STACK = f"{SLUG}_staging"
REVIEW_PREFIX = "review-pipeline-"
LABEL = "swarmkit-test=pipeline"
REPOSITORY = "pipeline/pipeline-shop"  # under CI_REGISTRY: CI_REGISTRY_IMAGE
ORIGIN = "https://gitlab.example.com/pipeline/pipeline-shop.git"
NAMESPACE = harness.NAMESPACE
# The e2e suite's test overlay (dnsrr, the nginx stand-in, short healthchecks),
# given to deploy/deploy.sh as DEPLOY_STACK_FILES, a CI/CD variable.
OVERLAY = harness.OVERLAY
OVERLAY_FILE = "deploy/stack.pipeline.yml"


def git(project: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True,
                          check=False, timeout=60)  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def git_repository(project: Path) -> str:
    """``project`` as a git repository on ``development``, all files committed; the short SHA."""
    git(project, "init", "-q", "-b", "development")
    git(project, "config", "user.email", "pipeline@example.com")
    git(project, "config", "user.name", "Pipeline Suite")
    git(project, "remote", "add", "origin", ORIGIN)
    # gitlab-ci-local keeps its state in the project: never part of a commit.
    with open(project / ".git" / "info" / "exclude", "a") as exclude:
        exclude.write(".gitlab-ci-local/\n")
    return commit(project, "Pipeline Shop, as generated")


def commit(project: Path, message: str, change: Callable[[Path], None] | None = None) -> str:
    """Apply ``change``, commit everything; the commit's short SHA as CI_COMMIT_SHORT_SHA."""
    if change is not None:
        change(project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "--allow-empty", "-m", message)
    return git(project, "rev-parse", "HEAD")[:8]  # gitlab-ci-local's CI_COMMIT_SHORT_SHA


def create_secrets(directory: Path) -> None:
    """Version 1 of each external secret of the staging stack, and its database node label."""
    harness.create_secrets(directory, slug=SLUG, label=LABEL)
    node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    docker("node", "update", "--label-add", f"{SLUG}.db=true", node)


def stacks() -> list[str]:
    """The suite's stacks that exist now."""
    names = lines(docker("stack", "ls", "--format", "{{.Name}}"))
    return [n for n in names if n == STACK or n.startswith(REVIEW_PREFIX)]


def leftovers(stack: str) -> dict[str, list[str]]:
    """Every object of ``stack``, by kind; empty lists when it is all gone."""
    namespace = f"label={NAMESPACE}={stack}"
    volumes = [v for v in lines(docker("volume", "ls", "-q")) if v.startswith(f"{stack}_")]
    return {
        "services": lines(docker("service", "ls", "-q", "--filter", namespace)),
        "containers": lines(docker("ps", "-aq", "--filter", namespace)),
        "networks": lines(docker("network", "ls", "-q", "--filter", namespace)),
        "configs": lines(docker("config", "ls", "-q", "--filter", namespace)),
        "secrets": lines(docker("secret", "ls", "-q", "--filter", namespace)),
        "volumes": volumes,
    }


def remove_stack(stack: str) -> None:
    """``docker stack rm``, wait for its tasks, then remove its configs, secrets and volumes."""
    docker("stack", "rm", stack, check=False)

    def gone() -> bool:
        left = leftovers(stack)
        return not (left["services"] or left["containers"] or left["networks"])

    wait_until(gone, 120, f"stack {stack} to be removed")
    left = leftovers(stack)
    for kind in ("configs", "secrets"):
        if left[kind]:
            docker(kind[:-1], "rm", *left[kind], check=False)
    for volume in left["volumes"]:
        wait_until(lambda v=volume: docker("volume", "rm", v, check=False).returncode == 0,
                   30, f"volume {volume} to be removable")  # fmt: skip


def cleanup() -> None:
    """Remove all the suite ever creates (see the module's docstring)."""
    for stack in {STACK, *stacks()}:
        remove_stack(stack)
    labelled = lines(docker("secret", "ls", "-q", "--filter", f"label={LABEL}"))
    if labelled:
        docker("secret", "rm", *labelled, check=False)
    node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    docker("node", "update", "--label-rm", f"{SLUG}.db", node, check=False)
    pattern = re.compile(rf"^127\.0\.0\.1:[0-9]+/{re.escape(REPOSITORY)}(/build-cache)?:")
    images = [i for i in lines(docker("images", "--format", "{{.Repository}}:{{.Tag}}"))
              if pattern.match(i)]  # fmt: skip
    if images:
        docker("rmi", "-f", *images, check=False)


def service_image(stack: str, service: str) -> str:
    """The image (without digest) ``stack``'s ``service`` runs now."""
    out = docker("service", "inspect", f"{stack}_{service}", "--format",
                 "{{.Spec.TaskTemplate.ContainerSpec.Image}}").stdout  # fmt: skip
    return out.strip().split("@", 1)[0]
