"""Re-record the engine JSON of image pull failures and task health.

    .venv/bin/python -m tests.deploy.record_tasks

On the running engine (a swarm manager), writes to ``recorded/``:

- ``pull_rejected.json``: a new two-replica service (``pullfail-test_app``,
  stack ``pullfail-test``) whose image no node can pull
  (``127.0.0.1:1/nope:v1``: nothing listens there), once each slot has been
  rejected twice: the service's JSON, **all** its tasks (Swarm's history, as
  ``service.tasks()`` returns them unfiltered) and the swarm's nodes (their
  ``Description.TLSInfo`` left out).
- ``health.json``: one task of a service with a healthcheck that passes only
  after about four seconds, with its container's inspect JSON, while the
  container's health is ``starting`` and once it is ``healthy``; the task's
  state at each moment shows what Swarm reports. Then the task after its
  healthcheck failed, and the inspect JSON of a plain container
  (``pullfail-test-unhealthy``, no service) whose healthcheck fails: a
  service's container is ``unhealthy`` only for the moment before Swarm
  fails its task, too short to catch.

Everything is labelled ``swarmkit-test=pullfail`` (the container is named
``pullfail-test-unhealthy``) and removed at the end. Takes about half a minute.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker

from swarmkit.deploy.models import STACK_LABEL, EngineTask

HERE = Path(__file__).resolve().parent / "recorded"
STACK = "pullfail-test"
LABEL = "swarmkit-test=pullfail"
UNPULLABLE = "127.0.0.1:1/nope:v1"
IMAGE = "debian:bookworm-slim"
CONTAINER = "pullfail-test-unhealthy"


def run(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=120)


def create(name: str, *args: str) -> None:
    run(
        "service", "create", "--detach", "--quiet", "--name", f"{STACK}_{name}",
        "--label", f"{STACK_LABEL}={STACK}", "--label", LABEL,
        "--stop-grace-period", "1s", "--restart-delay", "1s", *args,
    )  # fmt: skip


def until(what: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = what()
        if found:
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what.__doc__}")
        time.sleep(0.1)


def save(name: str, data: dict[str, Any]) -> None:
    HERE.mkdir(exist_ok=True)
    (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {name}")


def remove(client: docker.DockerClient) -> None:
    for service in client.services.list(filters={"label": LABEL}):
        service.remove()
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_container(CONTAINER, force=True)


def record_pull_failure(client: docker.DockerClient) -> None:
    create("app", "--replicas", "2", "--with-registry-auth", UNPULLABLE)
    service = client.services.get(f"{STACK}_app")

    def rejected_twice() -> bool:
        """two rejections in each slot"""
        tasks = [EngineTask.parse(t) for t in service.tasks()]
        per_slot = [sum(t.slot == slot and t.state == "rejected" for t in tasks) for slot in (1, 2)]
        return min(per_slot) >= 2

    until(rejected_twice)
    service.reload()
    nodes = []
    for node in client.nodes.list():
        attrs = dict(node.attrs)
        attrs["Description"] = {
            k: v for k, v in attrs.get("Description", {}).items() if k != "TLSInfo"
        }
        nodes.append(attrs)
    entry = {"service": service.attrs, "tasks": service.tasks(), "healthy": 0}
    save("pull_rejected", {"services": [entry], "nodes": nodes})


def record_health(client: docker.DockerClient) -> None:
    create(
        "web", "--replicas", "1",
        "--health-cmd", "test -e /tmp/ready", "--health-interval", "1s",
        "--health-retries", "2", "--health-start-period", "30s",
        IMAGE, "sh", "-c", "sleep 4; touch /tmp/ready; while true; do sleep 1; done",
    )  # fmt: skip
    service = client.services.get(f"{STACK}_web")

    def moment(health: str) -> Callable[[], dict[str, Any] | None]:
        def seen() -> dict[str, Any] | None:
            for task in service.tasks(filters={"desired-state": "running"}):
                container_id = EngineTask.parse(task).container_id
                if not container_id:
                    continue
                with contextlib.suppress(docker.errors.NotFound):
                    container = client.api.inspect_container(container_id)
                    if (container["State"].get("Health") or {}).get("Status") == health:
                        return {"task": task, "container": container}
            return None

        seen.__doc__ = f"a container {health}"
        return seen

    starting = until(moment("starting"))
    healthy = until(moment("healthy"))
    run("exec", healthy["container"]["Id"], "rm", "/tmp/ready")
    task_id = healthy["task"]["ID"]

    def failed() -> dict[str, Any] | None:
        """the task failed"""
        for task in service.tasks():
            if task["ID"] == task_id and task["Status"]["State"] == "failed":
                return dict(task)
        return None

    failed_task = until(failed)
    client.api.create_container(
        IMAGE,
        ["sleep", "60"],
        name=CONTAINER,
        labels={"swarmkit-test": "pullfail"},
        healthcheck={"test": ["CMD", "false"], "interval": 10**9, "retries": 1},
    )
    client.api.start(CONTAINER)

    def unhealthy() -> dict[str, Any] | None:
        """a plain container unhealthy"""
        container: dict[str, Any] = client.api.inspect_container(CONTAINER)
        return container if container["State"]["Health"]["Status"] == "unhealthy" else None

    save(
        "health",
        {
            "service": service.attrs,
            "starting": starting,
            "running": healthy,
            "failed": failed_task,
            "unhealthy_container": until(unhealthy),
        },
    )


def main() -> int:
    client = docker.from_env()
    remove(client)
    try:
        record_pull_failure(client)
        record_health(client)
    finally:
        remove(client)
    return 0


if __name__ == "__main__":
    sys.exit(main())
