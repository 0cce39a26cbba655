"""How a failed deploy's rollback ended, judged on engine JSON recorded from a real swarm.

``recorded/rollback_*.json`` comes from ``python -m tests.deploy.record_rollback``
(see there): ``app`` and ``worker`` on v1, the v1 image removed from the node,
both updated to v2 (the app's never healthy): Swarm rolls the app back, and
its rollback pauses on v1 tasks the node cannot start. No engine needed: a
stand-in client serves the recorded JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

docker = pytest.importorskip("docker")

from swarmkit.deploy import rollback as rollback_module  # noqa: E402
from swarmkit.deploy.models import Before, EngineService, EngineTask  # noqa: E402
from swarmkit.deploy.rollback import RolledBack, finish_rollback  # noqa: E402
from swarmkit.deploy.state import (  # noqa: E402
    companions_to_roll_back,
    outcome,
    pull_failures,
    rolled_back_since,
)
from swarmkit.deploy.status import ServiceStatus  # noqa: E402
from swarmkit.exceptions import DeployFailedError, RollbackFailedError  # noqa: E402

RECORDED = Path(__file__).resolve().parent / "recorded"
STACK = "rollback-rec"
V1 = f"127.0.0.1:1/{STACK}:v1"


def load(step: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((RECORDED / f"{step}.json").read_text())["services"]
    return entries


def services(step: str) -> dict[str, EngineService]:
    parsed = (EngineService.parse(e["service"]) for e in load(step))
    return {s.short_name: s for s in parsed}


def history(step: str, name: str) -> list[EngineTask]:
    for entry in load(step):
        if entry["service"]["Spec"]["Name"] == f"{STACK}_{name}":
            return [EngineTask.parse(t) for t in entry["tasks"]]
    raise KeyError(name)


def before() -> dict[str, Before]:
    return {s.name: Before.of(s) for s in services("rollback_before").values()}


class FakeService:
    """What the waits read of a docker SDK ``Service``, from a recording."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.attrs = entry["service"]
        self.name = self.attrs["Spec"]["Name"]
        self._tasks = entry["tasks"]

    def tasks(self, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
        wanted = (filters or {}).get("desired-state")
        return [t for t in self._tasks if wanted is None or t["DesiredState"] == wanted]


class FakeClient:
    """A manager whose stack is one recorded step; containers are on no node it sees."""

    def __init__(self, step: str) -> None:
        self.services = self
        self.api = self
        self._services = [FakeService(e) for e in load(step)]

    def list(self, filters: dict[str, str]) -> list[FakeService]:
        return self._services

    def nodes(self) -> list[dict[str, Any]]:
        return []

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        raise docker.errors.NotFound("no such container")


def test_the_deploy_sees_swarm_roll_the_app_back_and_the_worker_as_its_companion() -> None:
    assert rolled_back_since(list(services("rollback_before").values()), before()) == []
    for step in ("rollback_started", "rollback_paused"):
        now = list(services(step).values())
        assert [s.short_name for s in rolled_back_since(now, before())] == ["app"]
    now = list(services("rollback_paused").values())
    assert [s.short_name for s in companions_to_roll_back(now, before())] == ["worker"]


def test_a_paused_rollback_fails_against_the_deploys_snapshot_only() -> None:
    started, paused = services("rollback_started")["app"], services("rollback_paused")["app"]
    app = f"{STACK}_app"
    assert outcome(started, before()[app], rolling_back=True) == "busy"
    assert outcome(paused, before()[app], rolling_back=True) == "failed"
    # Against a snapshot taken once it had paused, the pause is not new: the
    # wait would run to its timeout. finish_rollback takes the deploy's.
    assert outcome(paused, Before.of(paused), rolling_back=True) == ""


def test_the_rolled_back_tasks_that_cannot_pull_their_image_are_found() -> None:
    app = services("rollback_paused")["app"]
    assert app.image == V1
    pulls = pull_failures(app, history("rollback_paused", "app"))
    assert [(t.slot, t.state, t.error) for t in pulls] == [
        (1, "rejected", f"No such image: {V1}"),
        (2, "rejected", f"No such image: {V1}"),
    ]


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The services each ``docker service rollback`` was asked for (none run)."""
    requests: list[list[str]] = []
    monkeypatch.setattr(
        rollback_module, "_request_rollbacks", lambda c, names, d: requests.append(names)
    )
    return requests


def test_finish_rollback_raises_rollback_failed_with_the_report(asked: list[list[str]]) -> None:
    client: Any = FakeClient("rollback_paused")
    with pytest.raises(RollbackFailedError) as raised:
        finish_rollback(client, STACK, before(), timeout=5, poll=0)
    assert asked == [[f"{STACK}_worker"]]
    assert isinstance(raised.value, DeployFailedError)
    assert str(raised.value).startswith(
        f"the rollback failed: {STACK}_app update rollback_paused: update paused due to failure"
    )
    assert "the previous release is not serving either" in str(raised.value)
    report = "\n".join(raised.value.failures)
    assert report.startswith(f"{STACK}_app: update rollback_paused: ")
    assert f"slot 1 on {history('rollback_paused', 'app')[0].node_id[:12]}: rejected: " in report


def test_finish_rollback_does_nothing_when_swarm_rolled_nothing_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rollback_module, "_request_rollbacks", pytest.fail)
    client: Any = FakeClient("rollback_before")
    assert finish_rollback(client, STACK, before(), timeout=5, poll=0) is None


def row(name: str, image: str) -> ServiceStatus:
    return ServiceStatus(name, image, "replicated", 1, 1, 1, "rollback_completed", "")


def test_rolled_back_names_the_image_that_runs_again() -> None:
    one = RolledBack(
        ("s_app",),
        ("s_scheduler",),
        (row("s_app", "reg/site:v1"), row("s_scheduler", "reg/site:v1")),
    )
    assert one.describe() == "rolled back to reg/site:v1; rolled back with it: s_scheduler"
    two = RolledBack(
        ("s_app", "s_proxy"), (), (row("s_app", "reg/site:v1"), row("s_proxy", "nginx:1"))
    )
    assert two.describe() == "rolled back to reg/site:v1 (s_app), nginx:1 (s_proxy)"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (DeployFailedError("stack s did not converge: rolled back to x:1", failures=("r",)), 1),
        (RollbackFailedError("stack s did not converge: the rollback failed", failures=("r",)), 3),
    ],
)
def test_the_cli_exits_3_when_the_rollback_did_not_bring_the_release_back(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    error: DeployFailedError,
    code: int,
) -> None:
    import contextlib

    import swarmkit.deploy
    import swarmkit.session
    from swarmkit.cli import main

    def fail(*args: Any, **kwargs: Any) -> None:
        assert kwargs["rollback_timeout"] == 90
        raise error

    monkeypatch.setattr(swarmkit.session, "engine_session", contextlib.nullcontext)
    monkeypatch.setattr(swarmkit.deploy, "deploy_stack", fail)
    argv = ["deploy", "-c", "stack.yml", "--name", "s", "--rollback-timeout", "90s"]
    assert main(argv) == code
    assert capsys.readouterr().err == f"r\nswarmkit: error: {error}\n"


def test_a_rollback_still_under_way_at_its_timeout_fails_with_exit_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rollback_module, "_request_rollbacks", lambda c, names, d: None)
    client: Any = FakeClient("rollback_started")
    with pytest.raises(RollbackFailedError) as raised:
        finish_rollback(client, STACK, before(), timeout=0, poll=0)
    assert str(raised.value).startswith(
        f"the rollback did not finish within 0s: {STACK}_app 0/2 running (rollback_started)"
    )
    assert raised.value.failures[0].startswith(f"{STACK}_app: timed out")


def test_companions_the_docker_cli_cannot_roll_back_leave_a_mix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from swarmkit.exceptions import DockerCLIError

    def refuse(client: Any, names: list[str], docker_cli: str | None) -> None:
        raise DockerCLIError(["docker", "service", "rollback", names[0]], 1, "no such service")

    monkeypatch.setattr(rollback_module, "_request_rollbacks", refuse)
    client: Any = FakeClient("rollback_paused")
    with pytest.raises(RollbackFailedError, match="rolling back the rest of the release failed"):
        finish_rollback(client, STACK, before(), timeout=5, poll=0)


def test_swarmkit_rollback_that_does_not_finish_is_a_rollback_failure(
    asked: list[list[str]],
) -> None:
    from swarmkit.deploy.rollback import rollback_stack

    client: Any = FakeClient("rollback_paused")
    with pytest.raises(RollbackFailedError) as raised:
        rollback_stack(client, STACK, timeout=0, poll=0)
    # The app's last change is Swarm's rollback: only the worker is asked.
    assert asked == [[f"{STACK}_worker"]]
    # The app's rollback_paused is older than this rollback's snapshot, but
    # its v1 tasks that cannot pull their image end the wait at once.
    assert f"{STACK}_app cannot pull its image {V1} on " in str(raised.value)
    assert f"{STACK}_app: cannot pull its image {V1}" in raised.value.failures[0]
