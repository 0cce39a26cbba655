"""The deploy rules on engine JSON recorded from a real swarm; no engine needed.

``recorded/*.json`` comes from ``python -m tests.deploy.record`` (see there):
a stack of ``app`` (two replicas) and ``worker``, created, updated, with the
app's next release rolled back by Swarm while the worker's completed, the
worker then rolled back on request, and the app's next update paused.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from swarmkit.deploy.models import STACK_LABEL, Before, EngineService, EngineTask
from swarmkit.deploy.state import (
    companions_to_roll_back,
    extra_tasks,
    outcome,
    rollback_targets,
    settled,
)

RECORDED = Path(__file__).resolve().parent / "recorded"
STACK = "sktest-deploy-rec"


@cache
def _load(step: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{step}.json").read_text())
    return data


def services(step: str) -> dict[str, EngineService]:
    return {
        EngineService.parse(s["service"]).short_name: EngineService.parse(s["service"])
        for s in _load(step)["services"]
    }


def service(step: str, name: str) -> EngineService:
    return services(step)[name]


def tasks(step: str, name: str) -> list[EngineTask]:
    for entry in _load(step)["services"]:
        if entry["service"]["Spec"]["Name"] == f"{STACK}_{name}":
            return [EngineTask.parse(t) for t in entry["tasks"]]
    raise KeyError(name)


def healthy(step: str, name: str) -> int:
    for entry in _load(step)["services"]:
        if entry["service"]["Spec"]["Name"] == f"{STACK}_{name}":
            return int(entry["healthy"])
    raise KeyError(name)


def snapshot(step: str) -> dict[str, Before]:
    return {s.name: Before.of(s) for s in services(step).values()}


def is_settled(step: str, name: str) -> bool:
    svc = service(step, name)
    return settled(svc, tasks(step, name), desired=svc.replicas, healthy=healthy(step, name))


def test_the_typed_view_reads_a_service() -> None:
    created, updated = service("created", "app"), service("updated", "app")
    assert created.name == f"{STACK}_app" and created.short_name == "app"
    assert created.labels[STACK_LABEL] == STACK == created.stack
    assert created.image == "debian:bookworm-slim"
    assert (created.mode, created.replicas) == ("replicated", 2)
    assert created.update.state == "" and created.previous_task_template is None
    assert not created.rollback_changes_tasks
    assert updated.update.state == "completed" and updated.update.message == "update completed"
    assert updated.update.started_at < updated.update.completed_at
    assert updated.version > created.version
    assert updated.rollback_changes_tasks


def test_the_typed_view_reads_a_task() -> None:
    task = tasks("updated", "app")[0]
    assert task.slot in (1, 2) and task.node_id and task.container_id
    assert (task.desired_state, task.state) == ("running", "running")
    assert task.exit_code in (None, 0)
    assert task.built_from(service("updated", "app"))
    assert not task.built_from(service("created", "app"))


def test_a_completed_update_is_converged() -> None:
    before = snapshot("created")
    for name in ("app", "worker"):
        assert (
            outcome(service("updated", name), before[f"{STACK}_{name}"], rolling_back=False) == ""
        )
        assert is_settled("updated", name)


def test_an_update_under_way_is_not() -> None:
    app = service("updating", "app")
    assert outcome(app, snapshot("created")[app.name], rolling_back=False) == "busy"
    # Start-first: slot 2's old task still runs beside its new, starting one.
    assert not is_settled("updating", "app")
    extra = extra_tasks(app, tasks("updating", "app"))
    assert [t.slot for t in extra] == [2] and not extra[0].built_from(app)
    assert extra_tasks(service("updated", "app"), tasks("updated", "app")) == []


def test_a_rollback_by_swarm_fails_the_deploy_that_caused_it() -> None:
    app = service("app_rolled_back", "app")
    assert app.update.state == "rollback_completed"
    assert outcome(app, snapshot("updated")[app.name], rolling_back=False) == "failed"
    # The app runs its previous spec in full: settled, but this deploy failed.
    assert is_settled("app_rolled_back", "app")


def test_a_rollback_left_by_an_earlier_deploy_is_not_this_ones() -> None:
    app = service("app_rolled_back", "app")
    assert outcome(app, snapshot("app_rolled_back")[app.name], rolling_back=False) == ""
    later = service("worker_rolled_back_on_request", "app")
    assert outcome(later, snapshot("app_rolled_back")[app.name], rolling_back=False) == ""


def test_the_rest_of_a_rolled_back_release_is_a_companion() -> None:
    now = list(services("app_rolled_back").values())
    assert [s.short_name for s in companions_to_roll_back(now, snapshot("updated"))] == ["worker"]
    # Nothing rolled back since the snapshot: no companion.
    assert companions_to_roll_back(now, snapshot("app_rolled_back")) == []
    assert companions_to_roll_back(list(services("updated").values()), snapshot("created")) == []


def test_a_requested_rollback_converges_and_is_not_rolled_back_twice() -> None:
    now = list(services("app_rolled_back").values())
    # The app's last change was a rollback: only the worker goes back.
    assert [s.short_name for s in rollback_targets(now)] == ["worker"]
    worker = service("worker_rolled_back_on_request", "worker")
    assert worker.update.state == "rollback_completed"
    assert worker.update.message == "rollback completed"
    before = snapshot("app_rolled_back")[worker.name]
    assert outcome(worker, before, rolling_back=True) == ""
    assert is_settled("worker_rolled_back_on_request", "worker")
    assert rollback_targets(list(services("worker_rolled_back_on_request").values())) == []


def test_a_paused_update_fails_a_deploy_and_a_rollback() -> None:
    app = service("app_paused", "app")
    assert app.update.state == "paused" and "paused" in app.update.message
    before = snapshot("worker_rolled_back_on_request")[app.name]
    assert outcome(app, before, rolling_back=False) == "failed"
    assert outcome(app, before, rolling_back=True) == "failed"
    # Start-first: the old tasks still run, the paused release's never did.
    assert not is_settled("app_paused", "app")


def test_missing_keys_parse_to_defaults() -> None:
    bare = EngineService.parse({"Spec": {"Name": "x", "Mode": {"Global": {}}}})
    assert (bare.name, bare.version, bare.replicas, bare.mode) == ("x", 0, None, "global")
    assert bare.update.state == "" and bare.stack == "" and bare.image == ""
    task = EngineTask.parse({"ID": "t", "NodeID": "n" * 25})
    assert task.slot is None and task.label == "n" * 12 and task.exit_code is None
    assert not settled(bare, [], desired=None, healthy=0)


# --- the docker CLI runner and the exception tree --------------------------------


def test_run_docker_keeps_command_exit_code_and_stderr(tmp_path: Path) -> None:
    from swarmkit.deploy.docker_cli import run_docker
    from swarmkit.exceptions import DeployError, DockerCLIError

    fake = tmp_path / "docker"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = ok ]; then cat; exit 0; fi\n'
        "echo 'no such service:' >&2; echo '  x' >&2; exit 3\n"
    )
    fake.chmod(0o755)
    assert run_docker(["ok"], stdin="hello", docker_cli=str(fake)) == "hello"
    with pytest.raises(DockerCLIError) as refused:
        run_docker(["service", "rollback", "--detach", "s_app"], docker_cli=str(fake))
    error = refused.value
    assert isinstance(error, DeployError)
    assert error.command == (str(fake), "service", "rollback", "--detach", "s_app")
    assert error.exit_code == 3 and error.stderr == "no such service:\n  x\n"
    assert str(error) == "docker service rollback s_app failed: no such service: x"
    with pytest.raises(DockerCLIError) as missing:
        run_docker(["stack", "ls"], docker_cli=str(tmp_path / "nowhere"))
    assert missing.value.exit_code is None


def test_gc_keep_out_of_range_is_a_swarmkit_error() -> None:
    from swarmkit.deploy.gc import MAX_KEEP, gc_stack
    from swarmkit.exceptions import DeployError

    for keep in (-1, MAX_KEEP + 1):
        with pytest.raises(DeployError, match="--keep must be between 0 and"):
            gc_stack(None, "s", keep=keep)  # type: ignore[arg-type]


def test_cli_catches_a_missing_extra_by_type(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from swarmkit.cli import main
    from swarmkit.exceptions import MissingExtraError, SwarmkitError

    for name in [
        m for m in sys.modules if m == "swarmkit.deploy" or m.startswith("swarmkit.deploy.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "docker", None)
    with pytest.raises(MissingExtraError) as raised:
        import swarmkit.deploy  # noqa: F401
    assert isinstance(raised.value, ImportError) and isinstance(raised.value, SwarmkitError)
    assert raised.value.extra == "deploy"
    assert main(["status", "x"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "swarmkit: error: swarmkit.deploy needs the docker SDK "
        "(install it with pip install 'swarm-django[deploy]')\n"
    )


def test_deploy_errors_are_importable_from_swarmkit() -> None:
    import swarmkit
    from swarmkit import exceptions

    for name in (
        "DeployError",
        "EngineError",
        "StackNotFoundError",
        "DeployFailedError",
        "DockerCLIError",
        "MissingExtraError",
    ):
        assert getattr(swarmkit, name) is getattr(exceptions, name)
        assert name in swarmkit.__all__
        assert name in (exceptions.__doc__ or "")


def test_a_second_current_task_swarm_leaves_in_a_slot_does_not_hold_the_wait() -> None:
    # What Swarm left after a start-first update on this engine (see
    # docs/e2e.md): an old task died while its replacement started, the
    # restart policy replaced it with a task of the current spec, and the
    # updater stopped neither. Recorded "updated", with slot 1's task twice.
    app = service("updated", "app")
    current = tasks("updated", "app")
    twin = EngineTask.parse({**current[0].raw, "ID": "surplus-task"})
    with_surplus = [*current, twin]
    assert len({t.slot for t in with_surplus}) == 2 and len(with_surplus) == 3
    assert settled(app, with_surplus, desired=2, healthy=3)
    # Two current tasks in one slot and none in the other are not enough.
    assert not settled(app, [current[0], twin], desired=2, healthy=2)
    # A task of an earlier spec still meant to run holds it: Swarm is not done.
    old = tasks("created", "app")[0]
    assert not settled(app, [*current, old], desired=2, healthy=3)
