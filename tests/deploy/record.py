"""Re-record the engine JSON that tests/deploy/test_state.py reads.

    .venv/bin/python -m tests.deploy.record

Makes a two-service stack (``app``, two replicas, and ``worker``) on the
running engine and takes it through the states the rules judge: converged,
an update under way, an update Swarm rolled back (the worker's completed:
a rollback companion), a requested rollback, a paused update. After each
step it writes ``recorded/<step>.json``: every service's ``docker service
inspect`` JSON, its desired-running tasks (``docker service ps`` through the
SDK) and how many of them are healthy (the containers' health). Everything is
labelled ``swarmkit-test=deploy`` and removed at the end. Takes about a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import docker

from swarmkit.deploy.models import STACK_LABEL, EngineService, EngineTask

HERE = Path(__file__).resolve().parent / "recorded"
STACK = "sktest-deploy-rec"
IMAGE = "debian:bookworm-slim"
LOOP = "while true; do sleep 1; done"


def run(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=120)


def create(name: str, replicas: int) -> None:
    run(
        "service", "create", "--detach", "--quiet", "--name", f"{STACK}_{name}",
        "--label", f"{STACK_LABEL}={STACK}", "--label", "swarmkit-test=deploy",
        "--replicas", str(replicas), "--stop-grace-period", "1s",
        "--health-cmd", "true", "--health-interval", "1s", "--health-retries", "1",
        "--update-parallelism", "1", "--update-order", "start-first",
        "--update-monitor", "2s", "--update-failure-action", "rollback",
        "--rollback-parallelism", "1", "--rollback-order", "start-first",
        "--rollback-monitor", "1s",
        IMAGE, "sh", "-c", LOOP,
    )  # fmt: skip


def update(name: str, *options: str) -> None:
    run("service", "update", "--detach", "--quiet", *options, f"{STACK}_{name}")


def capture(client: docker.DockerClient) -> dict[str, Any]:
    services = client.services.list(filters={"label": f"{STACK_LABEL}={STACK}"})
    out: dict[str, Any] = {"services": []}
    for service in sorted(services, key=lambda s: str(s.name)):
        tasks = service.tasks(filters={"desired-state": "running"})
        healthy = 0
        for task in map(EngineTask.parse, tasks):
            if task.is_running and task.container_id:
                state = client.api.inspect_container(task.container_id)["State"]
                healthy += (state.get("Health") or {}).get("Status", "healthy") == "healthy"
        out["services"].append({"service": service.attrs, "tasks": tasks, "healthy": healthy})
    return out


def save(step: str, data: dict[str, Any]) -> None:
    HERE.mkdir(exist_ok=True)
    (HERE / f"{step}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {step}")


def until(
    client: docker.DockerClient,
    states: dict[str, str],
    *,
    settle: bool = True,
    timeout: float = 120,
) -> None:
    """Until each named service's update state is the one given (and its tasks settled)."""
    deadline = time.monotonic() + timeout
    while True:
        done = True
        for name, state in states.items():
            service = client.services.get(f"{STACK}_{name}")
            parsed = EngineService.parse(service.attrs)
            tasks = [
                EngineTask.parse(t) for t in service.tasks(filters={"desired-state": "running"})
            ]
            current = [t for t in tasks if t.built_from(parsed) and t.is_running]
            full = len(current) == len(tasks) == parsed.replicas
            if parsed.update.state != state or (settle and not full):
                done = False
        if done:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {states}")
        time.sleep(0.5)


def remove(client: docker.DockerClient) -> None:
    for service in client.services.list(filters={"label": f"{STACK_LABEL}={STACK}"}):
        service.remove()


def main() -> int:
    client = docker.from_env()
    remove(client)
    try:
        create("app", 2)
        create("worker", 1)
        until(client, {"app": "", "worker": ""})
        save("created", capture(client))

        update("app", "--env-add", "RELEASE=2")
        update("worker", "--env-add", "RELEASE=2")
        deadline = time.monotonic() + 30
        while (
            client.services.get(f"{STACK}_app").attrs.get("UpdateStatus", {}).get("State")
            != "updating"
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        save("updating", capture(client))
        until(client, {"app": "completed", "worker": "completed"})
        save("updated", capture(client))

        # The app's release cannot start: Swarm rolls it back; the worker's completes.
        update("app", "--env-add", "RELEASE=3", "--args", "sh -c 'exit 3'")
        update("worker", "--env-add", "RELEASE=3")
        until(client, {"app": "rollback_completed", "worker": "completed"})
        save("app_rolled_back", capture(client))

        run("service", "rollback", "--detach", "--quiet", f"{STACK}_worker")
        until(client, {"app": "rollback_completed", "worker": "rollback_completed"})
        save("worker_rolled_back_on_request", capture(client))

        update("app", "--update-failure-action", "pause", "--args", "sh -c 'exit 4'")
        until(client, {"app": "paused"}, settle=False)
        save("app_paused", capture(client))
    finally:
        remove(client)
    return 0


if __name__ == "__main__":
    sys.exit(main())
