"""``swarmkit top``'s maths and rows on stats JSON recorded from a real engine; no engine needed.

``recorded/stats_*.json`` are replies of ``GET /containers/{id}/stats?stream=false``
(Docker 20.10, cgroup v1) for the two services of ``tests/deploy/test_top.py``
(``burn``: a shell loop with ``cpus: 0.5``; ``mem``: python holding 64 MiB),
one ``one-shot`` reply, and a container with 48 MiB of page cache (``docker
stats`` showed it as ``1.891MiB``). ``recorded/top_services.json`` holds those
services' inspect JSON, their running tasks and the node list.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from swarmkit.cli import main
from swarmkit.deploy.models import EngineNode
from swarmkit.deploy.top import NodeEngines, stack_top
from swarmkit.deploy.usage import (
    Resources,
    ServiceUsage,
    TaskUsage,
    cpu_percent,
    format_bytes,
    format_top,
    memory_bytes,
    top_json,
)

RECORDED = Path(__file__).resolve().parent / "recorded"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return data


def test_cpu_is_the_share_of_the_host_times_its_cpus() -> None:
    stats = recorded("stats_burn")
    # The fields, as the docker CLI's calculateCPUPercentUnix reads them.
    cpu = (10885114840 - 10414244973) / (52528580000000 - 52526550000000) * 2 * 100
    assert cpu_percent(stats) == pytest.approx(cpu)
    # 0.5 CPUs allowed: the loop used about half of one (docker stats said 48%).
    assert 40 < cpu < 55


def test_an_idle_container_uses_no_cpu_and_a_one_shot_reply_has_no_figure() -> None:
    assert cpu_percent(recorded("stats_mem")) == 0.0
    # one-shot: no second sample, so no delta (precpu_stats is empty).
    assert cpu_percent(recorded("stats_burn_one_shot")) is None
    assert cpu_percent({}) is None


def test_cpu_counts_cpus_from_percpu_usage_on_old_engines() -> None:
    stats = copy.deepcopy(recorded("stats_burn"))
    del stats["cpu_stats"]["online_cpus"]
    stats["cpu_stats"]["cpu_usage"]["percpu_usage"] = [1, 2, 3, 4]
    assert cpu_percent(stats) == pytest.approx(cpu_percent(recorded("stats_burn")) * 2)  # type: ignore[operator]


def test_memory_leaves_out_the_inactive_page_cache_as_docker_stats_does() -> None:
    stats = recorded("stats_page_cache")
    assert memory_bytes(stats) == 52391936 - 50409472
    # What docker stats showed for this reply: 1.891MiB.
    assert format_bytes(memory_bytes(stats)) == "1.9MiB"
    assert memory_bytes(stats) / 2**20 == pytest.approx(1.891, abs=0.001)  # type: ignore[operator]


def test_memory_of_the_container_holding_64_mib() -> None:
    used = memory_bytes(recorded("stats_mem"))
    assert used == 70717440
    assert format_bytes(used) == "67.4MiB"


def test_memory_under_cgroup_v2_subtracts_inactive_file() -> None:
    # cgroup v2 has no total_* keys (moby's stats for v2); written after the v1 reply.
    stats = {"memory_stats": {"usage": 52391936, "stats": {"inactive_file": 50409472, "anon": 1}}}
    assert memory_bytes(stats) == 1982464
    # More inactive than in use (counters read at different times): usage as is.
    stats["memory_stats"]["stats"]["inactive_file"] = 60000000
    assert memory_bytes(stats) == 52391936
    assert memory_bytes({"memory_stats": {}}) is None


def test_limits_and_reservations_from_the_service_spec() -> None:
    burn, mem = (s["Spec"]["TaskTemplate"] for s in recorded("top_services")["services"])
    assert Resources.parse(burn) == Resources(cpu_limit=0.5, cpu_reservation=0.1)
    assert Resources.parse(mem) == Resources(memory_limit=128 << 20, memory_reservation=32 << 20)
    assert Resources.parse({}) == Resources()
    assert Resources(cpu_limit=0.5, memory_limit=10).times(3) == Resources(1.5, 30)


ROWS = [
    ServiceUsage(
        "shop_app",
        Resources(cpu_limit=0.5, memory_limit=256 << 20, memory_reservation=128 << 20),
        (
            TaskUsage("t1", "shop_app.1", "m1", 12.5, 100 << 20, 256 << 20),
            TaskUsage("t2", "shop_app.2", "m2", error="node m2 not reachable (--node-host m2=URL)"),
            TaskUsage("t3", "shop_app.3", "m1", 30.0, 50 << 20, 256 << 20),
        ),
        short_name="app",
    ),
    ServiceUsage("shop_cron", Resources(), (), short_name="cron"),
]


def test_the_table_sums_each_service_against_the_limits_of_the_tasks_it_counts() -> None:
    assert format_top(ROWS) == (
        "SERVICE / TASK  NODE  CPU    CPU LIMIT  CPU RES  MEMORY    MEM LIMIT  MEM RES   NOTE\n"
        "shop_app              42.5%  100%       -        150.0MiB  512.0MiB   256.0MiB  2 of 3 tasks measured\n"
        "  app.1         m1    12.5%  50%        -        100.0MiB  256.0MiB   128.0MiB\n"
        "  app.2         m2    ?      50%        -        ?         256.0MiB   128.0MiB  node m2 not reachable (--node-host m2=URL)\n"
        "  app.3         m1    30.0%  50%        -        50.0MiB   256.0MiB   128.0MiB\n"
        "shop_cron             -      -          -        -         -          -         no running task\n"
    )  # fmt: skip


def test_json_has_the_sums_the_limits_and_each_task() -> None:
    [app, cron] = json.loads(top_json(ROWS))
    assert (app["cpu_percent"], app["memory_bytes"]) == (42.5, 150 << 20)
    assert (app["tasks_running"], app["tasks_measured"]) == (3, 2)
    assert app["resources"]["limits"] == {"cpus": 0.5, "memory_bytes": 256 << 20}
    assert app["total_resources"]["reservations"] == {"cpus": None, "memory_bytes": 256 << 20}
    assert app["tasks"][1]["error"].startswith("node m2 not reachable")
    assert app["tasks"][1]["cpu_percent"] is None
    assert (cron["cpu_percent"], cron["tasks"]) == (None, [])
    assert "\n" not in top_json(ROWS, indent=None).rstrip("\n")


class _Service:
    def __init__(self, attrs: dict[str, Any], tasks: list[dict[str, Any]]) -> None:
        self.attrs, self.name, self._tasks = attrs, attrs["Spec"]["Name"], tasks

    def tasks(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        return self._tasks


class _Client:
    """The few calls stack_top makes, answered from the recording."""

    def __init__(self, services: list[_Service], stats: dict[str, dict[str, Any]]) -> None:
        self.services = self
        self.api = self
        self._listed, self._stats = services, stats

    def list(self, filters: dict[str, str]) -> list[_Service]:
        return self._listed

    def stats(self, container: str, stream: bool) -> dict[str, Any]:
        assert stream is False  # two samples: precpu_stats filled
        return self._stats[container]


def test_tasks_on_other_nodes_are_measured_by_their_engine_or_say_why_not() -> None:
    data = recorded("top_services")
    burn, mem = data["services"]
    [burn_task] = data["tasks"][burn["Spec"]["Name"]]
    [mem_task] = data["tasks"][mem["Spec"]["Name"]]
    # Three nodes: the manager's, one named with --node-host, one down.
    burn_copy, far = copy.deepcopy(burn_task), copy.deepcopy(burn_task)
    burn_copy.update(ID="other", Slot=2, NodeID="n2")
    far.update(ID="far", Slot=3, NodeID="n3")
    mem_task = copy.deepcopy(mem_task)
    mem_task["NodeID"] = "n4"
    local = data["local_node"]
    container = burn_task["Status"]["ContainerStatus"]["ContainerID"]
    manager = _Client(
        [_Service(burn, [burn_task, burn_copy, far]), _Service(mem, [mem_task])],
        {container: recorded("stats_burn")},
    )
    node2 = _Client([], {container: recorded("stats_burn")})
    nodes = {
        local: EngineNode(local, "m1", "manager", "active", "ready", {}),
        "n2": EngineNode("n2", "w2", "worker", "active", "ready", {}),
        "n3": EngineNode("n3", "w3", "worker", "active", "down", {}),
        "n4": EngineNode("n4", "w4", "worker", "active", "ready", {}),
    }
    engines = NodeEngines(nodes, {local: manager, "n2": node2}, {"n4": "cannot measure on x"})  # type: ignore[dict-item]
    [burn_row, mem_row] = stack_top(manager, "top-manual", engines)  # type: ignore[arg-type]
    assert [(t.name, t.node, t.error) for t in burn_row.tasks] == [
        ("top-manual_burn.1", "m1", ""),
        ("top-manual_burn.2", "w2", ""),
        ("top-manual_burn.3", "w3", "node w3 is down"),
    ]
    assert burn_row.cpu_percent == pytest.approx(2 * cpu_percent(recorded("stats_burn")))  # type: ignore[operator]
    assert burn_row.total_resources.cpu_limit == 1.0
    assert [t.error for t in mem_row.tasks] == ["cannot measure on x"]
    assert mem_row.cpu_percent is None
    del engines.unreachable["n4"]
    assert engines.why_not("n4") == "node w4 not reachable (--node-host w4=URL)"
    assert engines.why_not("unknown-node-id") == "node unknown-node not reachable (--node-host unknown-node=URL)"  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["top", "s", "--node-host", "m2"], "not NODE=URL: 'm2'"),
        (["top", "s", "--node-host", "m2=http://x"], "not NODE=URL: 'm2=http://x'"),
        (["top", "s", "--watch", "--interval", "soon"], "not a duration: 'soon'"),
        (["top"], "the following arguments are required: STACK"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("swarmkit: error: ") and says in err
    assert err.count("\n") == 1
