"""What the cluster suite drives: deploys over ``ssh://`` to a manager, the nodes' view, figures.

The stack is the end-to-end suite's (``tests/e2e/harness.py``: the staging
stack of the generated project with its test overlay), plus the cluster
overlay below, the smallest one that makes it run here across nodes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tests.cluster import nodes, registry
from tests.cluster.nodes import Node
from tests.deploy.sshd import SSHD, Sshd
from tests.deploy.sshd import wait_for as wait_for_sshd
from tests.e2e import harness

BASE_IMAGES = ("nginx:1.22-bookworm", "postgres:15-bookworm", "python:3.12-slim-bookworm")
REMOTE_IMAGE = f"{registry.ADDRESS}/{harness.IMAGE}"
DB_NODE = "m3"  # a manager: the drained worker must not hold the database
ZONES = {"m1": "a", "m2": "a", "m3": "a", "w1": "b"}
CLUSTER_OVERLAY_FILE = "deploy/stack.cluster.yml"
# Over the e2e overlay: every image comes from the suite's registry (the
# nodes pull them with the deploy's credentials); the app's replicas are
# spread over two zones (the worker is zone b: one replica runs there, and
# the drain test has a task to move) and stay off the database's node.
# The networks are not encrypted: this kernel has no IPsec ESP with AES-GCM
# (the engine logs "Failed Adding SA ... function not implemented" and no
# packet crosses between nodes); a network's later definition replaces it.
CLUSTER_OVERLAY = f"""\
version: "3.8"
services:
  app:
    deploy:
      placement:
        constraints: ["node.labels.{harness.SLUG}.db != true"]
        preferences: [{{spread: node.labels.zone}}]
  proxy: {{image: "{registry.ADDRESS}/library/nginx:1.22-bookworm"}}
  db: {{image: "{registry.ADDRESS}/library/postgres:15-bookworm"}}
  backup: {{image: "{registry.ADDRESS}/library/postgres:15-bookworm"}}
networks:
  frontend: {{driver: overlay}}
  backend: {{driver: overlay, internal: true}}
"""
STACK_FILES = ("deploy/stack.yml", f"deploy/stack.{harness.ENVIRONMENT}.yml",
               harness.OVERLAY_FILE, CLUSTER_OVERLAY_FILE)  # fmt: skip
HTTPS = 443  # the project's own default: each node has its own ports

FIGURES: dict[str, str] = {}
"""What the suite measured, printed at the end of the run (conftest)."""


def figure(name: str, value: str) -> None:
    FIGURES[name] = value
    sys.stderr.write(f"cluster figure: {name}: {value}\n")


def app_image(tag: str) -> str:
    """The app image as the machine's engine built it."""
    return f"{harness.IMAGE}:{tag}"


@dataclass
class Cluster:
    """The running cluster, as the tests see it."""

    project: Path
    registry: registry.Registry
    docker_config: Path  # logged in to the registry
    sshds: dict[str, Sshd]
    digests: dict[str, str]  # pushed image -> its repo digest
    manager: Node = field(default_factory=lambda: nodes.NODES["m1"])

    def __post_init__(self) -> None:
        self.use(self.manager)

    def use(self, node: Node) -> None:
        """Talk to ``node`` from now on (``tests/e2e/harness.py``'s ``docker`` reads DOCKER_HOST)."""
        self.manager = node
        os.environ["DOCKER_HOST"] = node.docker_host

    def revive(self, node: Node) -> None:
        """Start a killed node again, as a machine boots: its engine, then its sshd."""
        node.start()
        if node.name in self.sshds:
            server = self.sshds[node.name]
            with open(server.log, "ab") as log:
                # Ended with the node's other processes (nodes.remove_all).
                subprocess.Popen(
                    [*node.in_netns(), SSHD, "-D", "-e", "-f", str(server.root / "sshd_config")],
                    stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            wait_for_sshd(server.address, server.port)

    def ssh_env(self, node: Node, *, logged_in: bool = True) -> dict[str, str]:
        """A client outside the cluster: ``DOCKER_HOST=ssh://root@<node>``, its keys, a login."""
        env = self.sshds[node.name].client_env(f"client-{node.name}")
        empty = self.project.parent / "docker-config-empty"
        empty.mkdir(exist_ok=True)
        env["DOCKER_CONFIG"] = str(self.docker_config if logged_in else empty)
        # The node's engine socket is not at /var/run/docker.sock: the nodes share a filesystem.
        env["SWARMKIT_SSH_REMOTE_SOCKET"] = str(node.socket)
        return env

    def swarmkit(self, *args: str, via: Node, logged_in: bool = True,
                 timeout: float = 600) -> subprocess.CompletedProcess[str]:  # fmt: skip
        env = self.ssh_env(via, logged_in=logged_in)
        return harness.swarmkit(*args, project=self.project, env=env, timeout=timeout)

    def deploy(self, tag: str, via: Node, *extra: str, logged_in: bool = True,
               timeout: float = 420) -> tuple[subprocess.CompletedProcess[str], float]:  # fmt: skip
        """``swarmkit deploy --with-registry-auth`` of the stack with app image ``tag``."""
        files = [arg for path in STACK_FILES for arg in ("-c", path)]
        started = time.monotonic()
        env = {**self.ssh_env(via, logged_in=logged_in), "IMAGE": REMOTE_IMAGE, "TAG": tag}
        done = harness.swarmkit(
            "deploy", *files, "--env-file", f"deploy/{harness.ENVIRONMENT}.env",
            "--name", harness.STACK, "--with-registry-auth", "--timeout", f"{timeout:g}",
            *extra, project=self.project, env=env, timeout=timeout + 60,
        )  # fmt: skip
        return done, time.monotonic() - started


def tasks(service: str, via: Node, *, desired: str = "running") -> list[dict[str, object]]:
    """The tasks of a stack service, as ``via`` reports them (``docker inspect``)."""
    ids = via.docker("service", "ps", "-q", "--no-trunc", "--filter",
                     f"desired-state={desired}", f"{harness.STACK}_{service}").stdout.split()  # fmt: skip
    if not ids:
        return []
    found: list[dict[str, object]] = json.loads(via.docker("inspect", *ids).stdout)
    return found


def node_names(via: Node) -> dict[str, str]:
    """Node id -> hostname (``m1`` ...)."""
    out = via.docker("node", "ls", "--format", "{{.ID}} {{.Hostname}}").stdout
    return dict(line.split() for line in out.splitlines())


def placement(service: str, via: Node) -> list[str]:
    """The hostnames of the nodes running the service's tasks, sorted."""
    names = node_names(via)
    return sorted(
        names.get(str(t["NodeID"]), "?")
        for t in tasks(service, via)
        if dict(t["Status"]).get("State") == "running"  # type: ignore[call-overload]
    )


def app_containers(via: Node) -> dict[str, str]:
    """Hostname -> container id of each running app task."""
    names = node_names(via)
    found = {}
    for task in tasks("app", via):
        status = dict(task["Status"])  # type: ignore[call-overload]
        if status.get("State") == "running":
            container = status["ContainerStatus"]["ContainerID"]
            found[names[str(task["NodeID"])]] = container
    return found


def probe(node: Node, container: str, path: str) -> int:
    """The HTTP status of ``path`` asked from inside an app container (the proxy does not
    serve alive and ready); -1 if no answer came.

    Generous timeouts: the machine is loaded, and the answer is what counts here.
    """
    script = (
        "import urllib.request, urllib.error\n"
        "try:\n"
        f"    print(urllib.request.urlopen('http://127.0.0.1:8000{path}', timeout=30).status)\n"
        "except urllib.error.HTTPError as exc:\n"
        "    print(exc.code)\n"
    )
    done = node.docker("exec", container, "python", "-c", script, check=False, timeout=60)
    answer = done.stdout.strip()
    if not answer.isdigit():
        sys.stderr.write(f"probe {path} on {node.name}: {done.returncode} {done.stderr[-300:]}\n")
        return -1
    return int(answer)


def psql(sql: str, node: Node) -> str:
    """``sql`` in the stack's database, on the node that runs it (unaligned output)."""
    (db,) = node.docker("ps", "-q", "--filter", "status=running", "--filter",
                        f"label=com.docker.swarm.service.name={harness.STACK}_db").stdout.split()  # fmt: skip
    return node.docker("exec", db, "psql", "-U", harness.SLUG, "-d", harness.SLUG, "-v",
                       "ON_ERROR_STOP=1", "-At", "-c", sql).stdout.strip()  # fmt: skip


def cron_slots(node: Node) -> dict[float, int]:
    """Each slot the e2e cron job recorded (UNIX time) -> how many rows it wrote."""
    out = psql("SELECT path, count(*) FROM visits_visit WHERE path LIKE 'cron:%' GROUP BY path",
               node)  # fmt: skip
    slots = {}
    for line in out.splitlines():
        path, count = line.rsplit("|", 1)
        slots[datetime.fromisoformat(path.removeprefix("cron:")).timestamp()] = int(count)
    return slots


def all_tasks(service: str, via: Node) -> int:
    """How many tasks the service ever had (its history included): restarts add to it."""
    return len(via.docker("service", "ps", "-q", f"{harness.STACK}_{service}").stdout.split())
