"""Re-record the engine JSON of a rollback that cannot start the previous release.

    .venv/bin/python -m tests.deploy.record_rollback

Makes a stack ``rollback-rec`` of ``app`` (two replicas) and ``worker`` on
the running engine, from a local image ``127.0.0.1:1/rollback-rec:v1`` (a
tag of ``debian:bookworm-slim``; nothing listens on ``127.0.0.1:1``, so a
pull fails at once), with stop-first updates that roll back on failure and
rollbacks that pause on failure. Then it removes that tag from the node and
updates both services to ``:v2``, whose app never passes its healthcheck:
Swarm rolls the app back, and the rollback's v1 tasks are rejected. It writes
to ``recorded/``, for each service its ``docker service inspect`` JSON and
**all** its tasks (as ``service.tasks()`` returns them):

- ``rollback_before.json``: both converged on v1 (the deploy's snapshot);
- ``rollback_started.json``: the app's ``rollback_started``;
- ``rollback_paused.json``: the app's ``rollback_paused``, its v1 tasks rejected.

Everything is labelled ``swarmkit-test=rollback`` and removed at the end.
Takes about half a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import docker

from swarmkit.deploy.models import STACK_LABEL, EngineService

HERE = Path(__file__).resolve().parent / "recorded"
STACK = "rollback-rec"
IMAGE = "debian:bookworm-slim"
V1, V2 = f"127.0.0.1:1/{STACK}:v1", f"127.0.0.1:1/{STACK}:v2"


def run(*args: str, check: bool = True) -> None:
    subprocess.run(["docker", *args], check=check, capture_output=True, text=True, timeout=120)


def create(name: str, replicas: int) -> None:
    run(
        "service", "create", "--detach", "--quiet", "--name", f"{STACK}_{name}",
        "--label", f"{STACK_LABEL}={STACK}", "--label", "swarmkit-test=rollback",
        "--replicas", str(replicas), "--stop-grace-period", "1s",
        "--health-cmd", "true", "--health-interval", "1s", "--health-retries", "1",
        "--update-parallelism", "0", "--update-order", "stop-first",
        "--update-monitor", "2s", "--update-failure-action", "rollback",
        "--rollback-parallelism", "0", "--rollback-order", "stop-first",
        "--rollback-monitor", "2s", "--rollback-failure-action", "pause",
        V1, "sh", "-c", "exec sleep 1000",
    )  # fmt: skip


def capture(client: docker.DockerClient) -> dict[str, Any]:
    services = client.services.list(filters={"label": f"{STACK_LABEL}={STACK}"})
    return {
        "services": [
            {"service": s.attrs, "tasks": s.tasks()}
            for s in sorted(services, key=lambda s: str(s.name))
        ]
    }


def save(step: str, data: dict[str, Any]) -> None:
    HERE.mkdir(exist_ok=True)
    (HERE / f"{step}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {step}")


def until(client: docker.DockerClient, name: str, check: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check(client.services.get(f"{STACK}_{name}")):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {name}")
        time.sleep(0.2)


def state(service: Any) -> str:
    return EngineService.parse(service.attrs).update.state


def converged(service: Any) -> bool:
    tasks = service.tasks(filters={"desired-state": "running"})
    return sum(t["Status"]["State"] == "running" for t in tasks) == len(tasks) > 0


def remove(client: docker.DockerClient) -> None:
    for service in client.services.list(filters={"label": f"{STACK_LABEL}={STACK}"}):
        service.remove()
    for image in (V1, V2):
        run("image", "rm", image, check=False)  # only the tag: the image is debian's


def main() -> int:
    client = docker.from_env()
    remove(client)
    try:
        run("tag", IMAGE, V1)
        run("tag", IMAGE, V2)
        create("app", 2)
        create("worker", 1)
        until(client, "app", converged)
        until(client, "worker", converged)
        save("rollback_before", capture(client))

        run("image", "rm", V1)
        run("service", "update", "--detach", "--quiet", "--image", V2, "--health-cmd", "false",
            f"{STACK}_app")  # fmt: skip
        run("service", "update", "--detach", "--quiet", "--image", V2, f"{STACK}_worker")
        until(client, "app", lambda s: state(s) == "rollback_started")
        save("rollback_started", capture(client))
        until(client, "app", lambda s: state(s) == "rollback_paused")
        until(client, "worker", lambda s: state(s) == "completed")
        save("rollback_paused", capture(client))
    finally:
        remove(client)
    return 0


if __name__ == "__main__":
    sys.exit(main())
