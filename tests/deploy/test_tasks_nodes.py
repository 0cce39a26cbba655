"""Pull failures, task health and task nodes on recorded engine JSON; no engine needed.

``recorded/pull_rejected.json`` and ``recorded/health.json`` come from
``python -m tests.deploy.record_tasks`` (see there). ``wait_for_stack`` and
``stack_status`` run against a stand-in client that answers with that JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import docker
import pytest

from swarmkit.deploy.models import EngineNode, EngineService, EngineTask
from swarmkit.deploy.state import is_pull_error, on_live_nodes, pull_failures, task_is_healthy
from swarmkit.deploy.status import (
    ServiceStatus,
    format_nodes,
    format_status,
    lost_nodes,
    node_hostnames,
    stack_status,
    status_of,
)
from swarmkit.deploy.wait import failure_report, registry_of, wait_for_stack
from swarmkit.exceptions import DeployFailedError

RECORDED = Path(__file__).resolve().parent / "recorded"
IMAGE = "127.0.0.1:1/nope:v1"


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return data


def rejected() -> tuple[EngineService, list[EngineTask]]:
    entry = _load("pull_rejected")["services"][0]
    return EngineService.parse(entry["service"]), [EngineTask.parse(t) for t in entry["tasks"]]


def running_copy(task: EngineTask, task_id: str, **status: Any) -> EngineTask:
    """``task`` as Swarm would show a replacement of it that runs."""
    raw = json.loads(json.dumps(task.raw))
    raw["ID"] = task_id
    raw["DesiredState"] = "running"
    raw["CreatedAt"] = "2030-01-01T00:00:00Z"
    raw["Status"] = {
        "State": "running",
        "Message": "started",
        "ContainerStatus": {"ContainerID": f"c-{task_id}", "ExitCode": 0},
        **status,
    }
    return EngineTask.parse(raw)


# --- the stand-in client --------------------------------------------------------


class FakeService:
    def __init__(self, attrs: dict[str, Any], tasks: list[dict[str, Any]]) -> None:
        self.attrs, self._tasks = attrs, tasks
        self.name = attrs["Spec"]["Name"]
        self.id = attrs["ID"]

    def reload(self) -> None:
        pass

    def tasks(self, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
        wanted = (filters or {}).get("desired-state")
        return [t for t in self._tasks if wanted is None or t["DesiredState"] == wanted]


class FakeAPI:
    def __init__(self, nodes: list[dict[str, Any]], containers: dict[str, Any]) -> None:
        self._nodes, self._containers = nodes, containers
        self.node_lists = 0

    def nodes(self) -> list[dict[str, Any]]:
        self.node_lists += 1
        return self._nodes

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        if container_id not in self._containers:
            # What a manager answers for a container that runs on another node.
            raise docker.errors.NotFound(f"No such container: {container_id}")
        found: dict[str, Any] = self._containers[container_id]
        return found


class FakeServices:
    def __init__(self, services: list[FakeService]) -> None:
        self._services = services
        self.lists = 0

    def list(self, filters: dict[str, str] | None = None) -> list[FakeService]:
        self.lists += 1
        return self._services


class FakeClient:
    def __init__(
        self,
        services: list[FakeService],
        nodes: list[dict[str, Any]],
        containers: dict[str, Any] | None = None,
    ) -> None:
        self.services = FakeServices(services)
        self.api = FakeAPI(nodes, containers or {})


def pull_client(**update_status: str) -> FakeClient:
    data = _load("pull_rejected")
    attrs = json.loads(json.dumps(data["services"][0]["service"]))
    if update_status:
        attrs["UpdateStatus"] = update_status
    return FakeClient([FakeService(attrs, data["services"][0]["tasks"])], data["nodes"])


# --- pull failures --------------------------------------------------------------


def test_the_recorded_rejections_are_what_the_rule_reads() -> None:
    service, tasks = rejected()
    assert service.image == IMAGE and service.update.state == "" and service.replicas == 2
    # Swarm keeps rejecting and replacing: two per slot, none meant to run.
    assert sorted((t.slot, t.state) for t in tasks) == [(1, "rejected")] * 2 + [(2, "rejected")] * 2
    assert all(t.desired_state != "running" and not t.container_id for t in tasks)
    assert {t.error for t in tasks} == {f"No such image: {IMAGE}"}
    assert all(t.built_from(service) for t in tasks)


def test_a_rejected_pull_is_a_pull_failure_per_slot() -> None:
    service, tasks = rejected()
    found = pull_failures(service, tasks)
    assert [t.slot for t in found] == [1, 2]
    # The newest of each slot (by creation: an older one's desired-state
    # change makes its UpdatedAt the later one).
    for task in found:
        same_slot = [t for t in tasks if t.slot == task.slot]
        assert task.created_at == max(t.created_at for t in same_slot)


@pytest.mark.parametrize(
    "error",
    [
        f"No such image: {IMAGE}",
        "No such image: reg:5443/shop:v1@sha256:" + "a" * 64,
        "pull access denied for shop, repository does not exist or may require 'docker login'",
        "Head https://reg:5443/v2/shop/manifests/v1: no basic auth credentials",
        "unauthorized: authentication required",
        "manifest for reg:5443/shop:v9 not found: manifest unknown: manifest unknown",
        "denied: requested access to the resource is denied",
    ],
)
def test_pull_errors(error: str) -> None:
    assert is_pull_error(error)


@pytest.mark.parametrize(
    "error",
    [
        "task: non-zero exit (1)",
        "task: non-zero exit (137): dockerexec: unhealthy container",
        "no suitable node (scheduling constraints not satisfied on 3 nodes)",
        "starting container failed: OCI runtime create failed",
        "",
    ],
)
def test_other_errors_are_not_pull_errors(error: str) -> None:
    assert not is_pull_error(error)


def test_a_slot_that_runs_a_current_task_is_no_pull_failure() -> None:
    service, tasks = rejected()
    slot_1 = next(t for t in tasks if t.slot == 1)
    # Slot 1's task got its image on another node; slot 2 still cannot.
    found = pull_failures(service, [*tasks, running_copy(slot_1, "moved")])
    assert [t.slot for t in found] == [2]


def test_only_rejections_of_the_current_spec_since_its_update_count() -> None:
    service, tasks = rejected()
    other = EngineService.parse(
        {
            **service.raw,
            "Spec": {
                **service.raw["Spec"],
                "TaskTemplate": {"ContainerSpec": {"Image": "reg:5443/shop:v2"}},
            },
        }
    )
    assert pull_failures(other, tasks) == []
    later = EngineService.parse(
        {**service.raw, "UpdateStatus": {"State": "completed", "StartedAt": "2030-01-01T00:00:00Z"}}
    )
    assert pull_failures(later, tasks) == []
    crashed = [
        EngineTask.parse({**t.raw, "Status": {"State": "failed", "Err": "task: non-zero exit (1)"}})
        for t in tasks
    ]
    assert pull_failures(service, crashed) == []


def test_wait_fails_at_once_naming_service_image_node_and_error() -> None:
    client = pull_client()
    started = time.monotonic()
    with pytest.raises(DeployFailedError) as failed:
        wait_for_stack(client, "pullfail-test", {}, timeout=30, poll=0.01)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5
    assert client.services.lists == 1  # the first poll, not the timeout
    error = failed.value
    assert error.message == (
        f"stack pullfail-test did not converge: pullfail-test_app cannot pull its image "
        f"{IMAGE} on vm: No such image: {IMAGE}"
    )
    assert error.hint is not None
    assert "docker login 127.0.0.1:1" in error.hint and "--with-registry-auth" in error.hint
    assert "image name and tag" in error.hint
    assert "\n" not in str(error)
    # The report: the rejected tasks, one line per slot, with their node.
    (report,) = error.failures
    lines = report.splitlines()
    assert (
        lines[0]
        == f"pullfail-test_app: cannot pull its image {IMAGE} on vm: No such image: {IMAGE}"
    )
    assert len(lines) == 3
    for line, slot in zip(lines[1:], ("1", "2"), strict=True):
        assert line.startswith("  task ")
        assert line.endswith(f" slot {slot} on vm: rejected: No such image: {IMAGE}")


def test_during_an_update_swarm_deals_with_a_rejected_task() -> None:
    # The update's failure action (pause, rollback) ends it, and a rollback
    # takes the rest of the release along; no early failure here.
    client = pull_client(State="updating", StartedAt="2026-12-06T21:57:00Z")
    with pytest.raises(DeployFailedError) as failed:
        wait_for_stack(client, "pullfail-test", {}, timeout=0.05, poll=0.01)  # type: ignore[arg-type]
    assert "did not converge within 0.05s: pullfail-test_app 0/2 running (updating)" in str(
        failed.value
    )


def test_the_cli_exits_1_with_the_report_and_one_error_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import contextlib

    import swarmkit.deploy.deploy
    import swarmkit.session
    from swarmkit.cli import main

    client = pull_client()

    @contextlib.contextmanager
    def session() -> Iterator[FakeClient]:
        yield client

    monkeypatch.setattr(swarmkit.session, "engine_session", session)
    monkeypatch.setattr(swarmkit.deploy.deploy, "run_docker", lambda *a, **k: "")
    stack = tmp_path / "stack.yml"
    stack.write_text(f"services:\n  app:\n    image: {IMAGE}\n")
    code = main(["deploy", "-q", "-c", str(stack), "--name", "pullfail-test", "--timeout", "60"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[0].startswith("pullfail-test_app: cannot pull its image")
    assert err[1].startswith("  task ") and err[2].startswith("  task ")
    assert len(err) == 4
    assert err[3].startswith(
        f"swarmkit: error: stack pullfail-test did not converge: pullfail-test_app cannot "
        f"pull its image {IMAGE} on vm: No such image: {IMAGE} (log in to the registry"
    )


def test_registry_of() -> None:
    assert registry_of(IMAGE) == "127.0.0.1:1"
    assert registry_of("reg.example.com/team/shop:v1") == "reg.example.com"
    assert registry_of("localhost/shop") == "localhost"
    assert registry_of("team/shop:v1") == "" == registry_of("debian:bookworm-slim")


# --- health ---------------------------------------------------------------------


def health(moment: str) -> tuple[EngineTask, dict[str, Any]]:
    data = _load("health")
    if moment == "failed":
        return EngineTask.parse(data["failed"]), {}
    return EngineTask.parse(data[moment]["task"]), data[moment]["container"]


def test_swarm_reports_running_only_once_the_healthcheck_passed() -> None:
    # What the rule stands on, as this engine recorded it.
    task, container = health("starting")
    assert (task.state, container["State"]["Health"]["Status"]) == ("starting", "starting")
    task, container = health("running")
    assert (task.state, container["State"]["Health"]["Status"]) == ("running", "healthy")
    failed, _ = health("failed")
    assert failed.state == "failed" and "unhealthy container" in failed.error


def test_a_running_task_is_healthy_on_every_node() -> None:
    task, container = health("running")
    assert task_is_healthy(task, container)
    assert task_is_healthy(task, None)  # on another node: Swarm's state alone
    # No healthcheck at all (the recorded "created" stack's tasks have one;
    # the container is the same without its Health).
    bare = {**container, "State": {k: v for k, v in container["State"].items() if k != "Health"}}
    assert task_is_healthy(task, bare)


def test_an_unhealthy_container_the_client_sees_is_not_healthy() -> None:
    task, _ = health("running")
    unhealthy = _load("health")["unhealthy_container"]
    assert unhealthy["State"]["Health"]["Status"] == "unhealthy"
    assert not task_is_healthy(task, unhealthy)


def test_a_task_that_does_not_run_is_not_healthy() -> None:
    task, container = health("starting")
    assert not task_is_healthy(task, container)
    assert not task_is_healthy(task, None)
    failed, _ = health("failed")
    assert not task_is_healthy(failed, None)


def test_status_counts_tasks_on_other_nodes_and_unhealthy_local_ones() -> None:
    data = _load("health")
    service = EngineService.parse(data["service"])
    task, container = health("running")
    here = running_copy(task, "here")
    elsewhere = running_copy(task, "elsewhere")
    sick = running_copy(task, "sick")
    client = FakeClient(
        [],
        [],
        {"c-here": container, "c-sick": _load("health")["unhealthy_container"]},
    )
    row = status_of(client, service, [here, elsewhere, sick])  # type: ignore[arg-type]
    assert (row.running, row.healthy) == (3, 2)


# --- nodes ----------------------------------------------------------------------


def test_node_hostnames_from_the_recorded_nodes() -> None:
    nodes = _load("pull_rejected")["nodes"]
    node = EngineNode.parse(nodes[0])
    assert (node.hostname, node.role, node.availability, node.state) == (
        "vm",
        "manager",
        "active",
        "ready",
    )
    assert EngineNode.parse({}).hostname == ""
    assert node_hostnames(nodes) == {nodes[0]["ID"]: "vm"}
    assert node_hostnames([{"ID": "x"}, {"Description": {"Hostname": "h"}}]) == {}


def test_format_nodes() -> None:
    assert format_nodes(["m2", "m1", "m3"]) == "m1,m2,m3"
    assert format_nodes(("m1", "m2", "m1")) == "m1x2,m2"
    assert format_nodes(()) == "-"


def test_status_names_each_running_tasks_node_with_one_node_list() -> None:
    data = _load("health")
    attrs, (task, _) = data["service"], health("running")
    m1, m2, gone = (running_copy(task, name) for name in ("a", "b", "c"))
    raws = []
    for copy, node in ((m1, "node-m1"), (m2, "node-m2"), (gone, "n0123456789abcdef")):
        raws.append({**copy.raw, "NodeID": node})
    raws.append({**running_copy(task, "d").raw, "NodeID": "node-m1"})
    nodes = [
        {"ID": "node-m1", "Description": {"Hostname": "m1"}},
        {"ID": "node-m2", "Description": {"Hostname": "m2"}},
    ]
    client = FakeClient([FakeService(attrs, raws), FakeService(attrs, [])], nodes)
    rows = stack_status(client, "pullfail-test")  # type: ignore[arg-type]
    assert client.api.node_lists == 1
    # A node the list lacks (it left the swarm) is named by its id.
    assert rows[0].nodes == ("m1", "m1", "m2", "n0123456789a")
    assert rows[1].nodes == ()
    table = format_status(rows).splitlines()
    assert table[0].split() == ["SERVICE", "IMAGE", "REPLICAS", "HEALTHY", "UPDATE", "NODES"]
    assert table[1].split()[-1] == "m1x2,m2,n0123456789a"
    assert table[2].split()[-1] == "-"


def test_a_row_without_nodes_still_builds() -> None:
    row = ServiceStatus("s", "i", "replicated", 1, 1, 1, "", "")
    assert row.nodes == () and row.converged


def test_failure_report_names_the_node_and_shows_each_failure_once() -> None:
    client = pull_client()
    service = client.services.list()[0]
    report = failure_report(client, service, "why")  # type: ignore[arg-type]
    # Without hostnames: the node id's first 12 characters.
    node = _load("pull_rejected")["nodes"][0]["ID"][:12]
    assert report.count(f" on {node}: rejected: No such image") == 2
    assert "exit code" not in report  # a rejected task never had a container


def test_wait_asks_for_the_nodes_again_only_for_a_node_it_does_not_know() -> None:
    data = _load("health")
    attrs = json.loads(json.dumps(data["service"]))
    attrs["Spec"]["Mode"] = {"Replicated": {"Replicas": 2}}  # one short: never settles
    client = FakeClient([FakeService(attrs, [data["running"]["task"]])], [])
    with pytest.raises(DeployFailedError, match="1/2 running"):
        wait_for_stack(client, "pullfail-test", {}, timeout=0.2, poll=0.01)  # type: ignore[arg-type]
    assert client.services.lists > 3
    # Once at the start, once more for the task's node the list lacked.
    assert client.api.node_lists == 2


# --- nodes the managers cannot reach --------------------------------------------


def test_lost_nodes_are_those_not_ready() -> None:
    nodes = [
        {"ID": "n-ready", "Status": {"State": "ready"}},
        {"ID": "n-down", "Status": {"State": "down"}},
        {"ID": "n-unknown", "Status": {"State": "unknown"}},
        {"ID": "n-gone", "Status": {"State": "disconnected"}},
        {"Status": {"State": "down"}},  # no id: nothing to match a task with
    ]
    assert lost_nodes(nodes) == {"n-down", "n-unknown", "n-gone"}
    assert lost_nodes([]) == frozenset()


def test_tasks_on_a_lost_node_count_neither_running_nor_desired() -> None:
    # A global service, one task per node; the manager still lists the dead
    # node's task as running, with the last state it heard.
    data = _load("health")
    attrs = json.loads(json.dumps(data["service"]))
    attrs["Spec"]["Mode"] = {"Global": {}}
    service = EngineService.parse(attrs)
    task, _ = health("running")
    tasks = []
    for name in ("a", "b", "dead"):
        copy = running_copy(task, name)
        tasks.append(EngineTask.parse({**copy.raw, "NodeID": f"node-{name}"}))
    client = FakeClient([], [])
    assert on_live_nodes(tasks, {"node-dead"}) == tasks[:2]
    assert on_live_nodes(tasks, ()) == tasks
    row = status_of(client, service, tasks, {}, lost={"node-dead"})  # type: ignore[arg-type]
    assert (row.running, row.desired, row.healthy) == (2, 2, 2)
    assert row.converged
    # Replicated: the dead node's task is one short of the replicas until rescheduled.
    attrs["Spec"]["Mode"] = {"Replicated": {"Replicas": 3}}
    row = status_of(client, EngineService.parse(attrs), tasks, {}, lost={"node-dead"})  # type: ignore[arg-type]
    assert (row.running, row.desired) == (2, 3) and not row.converged
