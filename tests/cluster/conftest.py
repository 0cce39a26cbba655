"""Session fixtures of the cluster suite: four engines, a registry, sshds, the project's images.

The swarm (``tests/cluster/nodes.py``) and the registry
(``tests/cluster/registry.py``) are made once per run and removed at the end;
an earlier run's left-overs are removed first. The generated project is the
end-to-end suite's (``tests/e2e/build.py``), built on the machine's engine
and pushed to the registry by tag; the stand-in base images go there too, so
every node pulls all it runs, with the credentials ``swarmkit deploy
--with-registry-auth`` sends. Each manager runs an sshd in its namespace:
the suite deploys from outside the cluster, over ``ssh://``. Under
``CI=true`` a missing tool fails the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import nodes, registry
from tests.cluster.dns import NoSuchName
from tests.cluster.harness import (
    BASE_IMAGES,
    CLUSTER_OVERLAY,
    CLUSTER_OVERLAY_FILE,
    FIGURES,
    Cluster,
    app_image,
)
from tests.deploy.sshd import missing as sshd_missing
from tests.deploy.sshd import private_sshd
from tests.e2e import harness
from tests.e2e.build import bake_project, build_images
from tests.e2e.conftest import ANSWERS
from tests.template.servers import DOCKER, require_engine, require_image

TOOLS = ("ip", "iptables", "nsenter", "unshare", "dockerd", "curl", "openssl")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baked project with the cluster overlay; v1 and v2 built on the machine's engine."""
    require_engine()
    for image in BASE_IMAGES:
        require_image(image)
    root = tmp_path_factory.mktemp("cluster")
    project = bake_project(root, ANSWERS)
    (project / harness.OVERLAY_FILE).write_text(harness.OVERLAY)
    (project / CLUSTER_OVERLAY_FILE).write_text(CLUSTER_OVERLAY)
    build_images(project, root, harness.IMAGE, {"v1": None, "v2": None})
    return project


@pytest.fixture(scope="session")
def cluster(images: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The swarm, the registry holding every image, a login, an sshd on each manager."""
    if os.geteuid() != 0:
        _unavailable("the cluster suite makes network namespaces and engines: run it as root")
    for tool in TOOLS:
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is missing (Debian: iproute2, iptables, util-linux, docker.io)")
    for reason in (registry.missing(), sshd_missing()):
        if reason:
            _unavailable(reason)
    teardown(built=False)
    resolver = None
    try:
        nodes.create()
        resolver = NoSuchName()  # on the bridge's address: after create()
        nodes.form_swarm()
        found = registry.start()
        logged_in = tmp_path_factory.mktemp("docker-config")
        found.login(logged_in)
        pushed = _push_all(found, logged_in)
        with contextlib.ExitStack() as stack:
            # Port 22 of each manager's own address; a node that dies takes its sshd along.
            sshds = {
                node.name: stack.enter_context(private_sshd(
                    tmp_path_factory.mktemp(f"sshd-{node.name}"), address=node.ip, port=22,
                    prefix=tuple(node.in_netns()),
                ))
                for node in nodes.NODES.values() if node.is_manager
            }  # fmt: skip
            yield Cluster(images, found, logged_in, sshds, pushed)
    finally:
        # SWARMKIT_CLUSTER_KEEP=1 leaves the cluster up to look at (the next run removes it).
        if resolver is not None:
            resolver.stop()
        if not os.environ.get("SWARMKIT_CLUSTER_KEEP"):
            teardown(built=True)


def teardown(*, built: bool) -> None:
    """Everything the suite makes on this machine: engines first, then the registry.

    ``built``: the app images too (at the start they are this run's, just built).
    """
    os.environ.pop("DOCKER_HOST", None)  # a node's, set by Cluster.use: the machine's engine now
    nodes.remove_all()
    registry.stop()
    for image in registry_tags():
        nodes.run(DOCKER, "rmi", image, check=False)
    if not built:
        return
    harness_images = nodes.run(DOCKER, "images", "-q", "--filter", f"label={harness.LABEL}",
                               check=False).stdout.split()  # fmt: skip
    if harness_images:
        nodes.run(DOCKER, "rmi", "-f", *sorted(set(harness_images)), check=False)


def registry_tags() -> list[str]:
    """The images of the machine's engine tagged for the suite's registry."""
    out = nodes.run(DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout
    return [image for image in out.split() if image.startswith(f"{registry.ADDRESS}/")]


def _path(image: str) -> str:
    """``nginx:1.22`` -> ``library/nginx:1.22``: where a registry keeps an official image."""
    return image if "/" in image else f"library/{image}"


def _push_all(found: registry.Registry, docker_config: Path) -> dict[str, str]:
    """Tag and push every image; returns image -> the digest the registry gave it."""
    digests: dict[str, str] = {}
    for image in (*BASE_IMAGES, app_image("v1"), app_image("v2")):
        target = f"{found.address}/{_path(image)}"
        nodes.run(DOCKER, "tag", image, target)
        nodes.run(DOCKER, "--config", str(docker_config), "push", target, timeout=600)
        inspect = nodes.run(DOCKER, "image", "inspect", target, "--format",
                            "{{json .RepoDigests}}").stdout  # fmt: skip
        repo = target.rsplit(":", 1)[0]
        digests[target] = next(d for d in json.loads(inspect) if d.startswith(repo + "@"))
    return digests


def pytest_sessionfinish(session: pytest.Session) -> None:
    # benchmarks/cluster_figures.py names the file: it keeps them in docs/benchmarks.md.
    path = os.environ.get("SWARMKIT_CLUSTER_FIGURES")
    if path and FIGURES:
        Path(path).write_text(json.dumps(FIGURES, indent=1) + "\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("cluster figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
