"""The generated project on a swarm of three managers and a worker, deployed over SSH.

One staging stack lives through the module, test after test, in order: a
deploy that has no registry login, the first deploy across the nodes, health
judged on every node, logs of every node, a drained worker, the leader's
death, the database node's death.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.cluster import nodes
from tests.cluster.harness import (
    DB_NODE,
    HTTPS,
    REMOTE_IMAGE,
    ZONES,
    Cluster,
    all_tasks,
    app_containers,
    cron_slots,
    figure,
    node_names,
    placement,
    probe,
    psql,
)
from tests.cluster.nodes import NODES, wait_until
from tests.e2e import harness
from tests.e2e.harness import STACK, Load, request, shown, tls_context
from tests.e2e.test_stack import nanoseconds

RATE = 20


@pytest.fixture(scope="module")
def secrets(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    values = harness.create_secrets(tmp_path_factory.mktemp("tls"))
    m1 = NODES["m1"]
    m1.docker("node", "update", "--label-add", f"{harness.SLUG}.db=true", DB_NODE)
    for name, zone in ZONES.items():
        m1.docker("node", "update", "--label-add", f"zone={zone}", name)
    return values


@pytest.fixture(scope="module")
def tls(secrets: dict[str, str]) -> Any:
    return tls_context(secrets["tls_cert"])


def converged(cluster: Cluster, via: nodes.Node) -> bool:
    return cluster.swarmkit("status", STACK, via=via, timeout=60).returncode == 0


def version_at(node: nodes.Node, tls: Any) -> str:
    status, _, body = request(HTTPS, "/", tls, address=node.ip)
    found = harness.VERSION.search(body)
    assert status == 200 and found, f"{node.name}: HTTP {status}: {body[:300]}"
    return found[0]


def test_three_managers_and_a_worker(cluster: Cluster) -> None:
    info = nodes.nodes_info(NODES["m1"])
    roles = {i["Description"]["Hostname"]: i["Spec"]["Role"] for i in info}  # type: ignore[index]
    assert roles == {"m1": "manager", "m2": "manager", "m3": "manager", "w1": "worker"}
    reachability = sorted(
        i["ManagerStatus"]["Reachability"]  # type: ignore[index]
        for i in info
        if "ManagerStatus" in i
    )
    assert reachability == ["reachable"] * 3
    assert nodes.leader(NODES["m2"]) == NODES["m1"]


def test_deploy_without_a_registry_login_fails_clearly(cluster: Cluster, secrets: Any) -> None:
    done, seconds = cluster.deploy("v1", NODES["m1"], logged_in=False, timeout=240)
    assert done.returncode == 1, shown(done)
    last = done.stderr.rstrip().splitlines()[-1]
    assert last.startswith("swarmkit: error: "), shown(done)
    assert "pull" in done.stderr and "--with-registry-auth" in done.stderr, shown(done)
    assert seconds < 200, f"took {seconds:.0f}s: it waited for the timeout"
    figure("deploy without a registry login: to the error", f"{seconds:.1f} s")
    harness.remove_stack()


def test_first_deploy_spreads_over_the_nodes(cluster: Cluster, tls: Any) -> None:
    m1 = NODES["m1"]
    logins = cluster.sshds["m1"].logins()
    done, seconds = cluster.deploy("v1", m1)
    assert done.returncode == 0, shown(done)
    # One SSH login for the whole deploy: every poll and `docker stack deploy` share it.
    assert cluster.sshds["m1"].logins() == logins + 1
    figure("first deploy (v1), 3 managers + 1 worker: `swarmkit deploy` to converged",
           f"{seconds:.1f} s")  # fmt: skip
    # The images the nodes run are the registry's, pinned by digest.
    spec = harness.service_spec("app")
    image = spec["TaskTemplate"]["ContainerSpec"]["Image"]  # type: ignore[index]
    assert image == f"{REMOTE_IMAGE}:v1@{cluster.digests[f'{REMOTE_IMAGE}:v1'].split('@')[1]}"

    assert placement("db", m1) == [DB_NODE]
    apps = placement("app", m1)
    assert len(apps) == 2 and len(set(apps)) == 2, apps
    assert placement("proxy", m1) == ["m1", "m2", "m3", "w1"]
    for node in NODES.values():
        assert version_at(node, tls) == "e2e-v1"

    status = cluster.swarmkit("status", STACK, via=m1)
    assert status.returncode == 0, shown(status)
    rows = {line.split()[0]: line for line in status.stdout.splitlines()[1:]}
    assert "m1,m2,m3,w1" in rows[f"{STACK}_proxy"], status.stdout
    assert DB_NODE in rows[f"{STACK}_db"], status.stdout
    assert ",".join(apps) in rows[f"{STACK}_app"], status.stdout


def test_ssh_deploys_log_in_once(cluster: Cluster) -> None:
    sshd = cluster.sshds["m1"]
    before = sshd.logins()
    done = cluster.swarmkit("status", STACK, via=NODES["m1"])
    assert done.returncode == 0, shown(done)
    assert sshd.logins() == before + 1


PROBE_STACK = "skc_probe"
# Two replicas, one on each node labelled for them (m1, m2). A task becomes
# healthy 6 s after its start; release 2's healthcheck fails on m2 only.
PROBE = """\
version: "3.8"
services:
  probe:
    image: {image}
    command: ["sh", "-c", "sleep 6; touch /tmp/ok; exec sleep 100000"]
    environment: {{NODE: "{{{{.Node.Hostname}}}}", RELEASE: "{release}"}}
    healthcheck:
      test: ["CMD-SHELL", "{test}"]
      interval: 1s
      timeout: 2s
      retries: 2
      start_period: 8s
    stop_grace_period: 1s
    deploy:
      replicas: 2
      placement:
        constraints: [node.labels.skc-probe == true]
        max_replicas_per_node: 1
      update_config: {{parallelism: 1, order: stop-first, failure_action: rollback, monitor: 20s}}
      rollback_config: {{parallelism: 1, order: stop-first, monitor: 5s}}
"""
# The update's monitor outlasts a failing task's way to "unhealthy" (start
# period 8 s, then 2 failed checks a second apart, each up to 2 s): Swarm may
# count a task as running before its first check, and a shorter monitor then
# ends the update as completed before that task fails.


def probe_deploy(cluster: Cluster, release: int, test: str) -> Any:
    path = cluster.project / f"probe-{release}.yml"
    image = f"{cluster.registry.address}/library/python:3.12-slim-bookworm"
    path.write_text(PROBE.format(image=image, release=release, test=test))
    return cluster.swarmkit("deploy", "-c", path.name, "--name", PROBE_STACK,
                            "--with-registry-auth", "--timeout", "180", via=NODES["m1"])  # fmt: skip


def test_health_is_judged_on_every_node(cluster: Cluster) -> None:
    m1, m2 = NODES["m1"], NODES["m2"]
    for node in (m1, m2):
        m1.docker("node", "update", "--label-add", "skc-probe=true", node.name)
    try:
        done = probe_deploy(cluster, 1, "test -f /tmp/ok")
        assert done.returncode == 0, shown(done)
        # On this engine a task with a healthcheck is "running" only once healthy:
        # the task on m2 turned running at least 6 s after its container started.
        (task,) = [t for t in tasks_of(PROBE_STACK + "_probe", m1) if t["node"] == "m2"]
        started = m2.docker("inspect", "--format", "{{.State.StartedAt}}",
                            task["container"]).stdout.strip()  # fmt: skip
        assert seconds_between(started, task["since"]) >= 5.5, (started, task)

        done = probe_deploy(cluster, 2, 'test \\"$$NODE\\" != m2 && test -f /tmp/ok')
        assert done.returncode == 1, shown(done)
        assert "rollback" in done.stderr, shown(done)
        wait_until(lambda: cluster.swarmkit("status", PROBE_STACK, via=m1).returncode == 0,
                   120, "the probe's rollback to finish")  # fmt: skip
        env = m1.docker("service", "inspect", f"{PROBE_STACK}_probe", "--format",
                        "{{json .Spec.TaskTemplate.ContainerSpec.Env}}").stdout  # fmt: skip
        assert "RELEASE=1" in env, env
    finally:
        m1.docker("stack", "rm", PROBE_STACK, check=False)
        for node in (m1, m2):
            m1.docker("node", "update", "--label-rm", "skc-probe", node.name, check=False)


def tasks_of(service: str, via: nodes.Node) -> list[dict[str, str]]:
    """Running tasks: node hostname, container id, and the time of their last state change."""
    names = node_names(via)
    ids = via.docker("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running",
                     service).stdout.split()  # fmt: skip
    found = []
    for task in json.loads(via.docker("inspect", *ids).stdout):
        status = task["Status"]
        if status["State"] == "running":
            found.append({"node": names[task["NodeID"]], "since": status["Timestamp"],
                          "container": status["ContainerStatus"]["ContainerID"]})  # fmt: skip
    return found


def seconds_between(earlier: str, later: str) -> float:
    return (nanoseconds(later) - nanoseconds(earlier)) / 1e9


def test_logs_show_every_node_in_time_order(cluster: Cluster, tls: Any) -> None:
    m1 = NODES["m1"]
    for node in NODES.values():
        request(HTTPS, "/", tls, address=node.ip)  # an access log line on each proxy
    node_ids = {v: k for k, v in node_names(m1).items()}
    done = cluster.swarmkit("logs", STACK, "--since", "30m", "-t", via=m1)
    assert done.returncode == 0, shown(done)
    stamps, proxies, apps = [], set(), set()
    for line in done.stdout.splitlines():
        match = re.match(r"(\S+) ([a-z-]+)\.(\S+) \| ", line)
        assert match, line
        stamps.append(nanoseconds(match[1]))
        if match[2] == "proxy":
            proxies.add(match[3])
        elif match[2] == "app":
            apps.add(match[3])
    assert stamps == sorted(stamps)
    # A global service's lines carry the node id: one proxy per node, all four there.
    assert proxies == {node_ids[name][:12] for name in NODES}, proxies
    assert apps >= {"1", "2"}, apps


def test_top_measures_the_tasks_of_every_node(cluster: Cluster) -> None:
    m1 = NODES["m1"]
    # Through the manager alone, only m1's tasks are measured; the others say why.
    alone = cluster.swarmkit("top", STACK, "--format", "json", via=m1, timeout=120)
    assert alone.returncode == 0, shown(alone)
    tasks = [t for s in json.loads(alone.stdout) for t in s["tasks"]]
    assert {t["node"] for t in tasks} == set(NODES), tasks
    for task in tasks:
        if task["node"] == "m1":
            assert task["error"] is None and task["memory_bytes"] > 0, task
        else:
            assert task["memory_bytes"] is None and "--node-host" in task["error"], task
    # Each other node's own engine (its socket: the nodes share this machine's
    # filesystem; the worker has no sshd), checked to be that node's.
    others = [arg for name, node in NODES.items() if name != "m1"
              for arg in ("--node-host", f"{name}={node.docker_host}")]  # fmt: skip
    every = cluster.swarmkit("top", STACK, "--format", "json", *others, via=m1, timeout=120)
    assert every.returncode == 0, shown(every)
    services = {s["name"]: s for s in json.loads(every.stdout)}
    for service in services.values():
        assert service["tasks_measured"] == service["tasks_running"] > 0, service
        for task in service["tasks"]:
            assert task["error"] is None and task["memory_bytes"] > 0, task
            assert task["cpu_percent"] is not None and task["cpu_percent"] >= 0, task
    proxy = services[f"{STACK}_proxy"]
    assert sorted(t["node"] for t in proxy["tasks"]) == sorted(NODES), proxy
    assert proxy["memory_bytes"] == sum(t["memory_bytes"] for t in proxy["tasks"]), proxy
    # An engine named for the wrong node is refused, not measured as that node.
    wrong = cluster.swarmkit("top", STACK, "--format", "json", "--node-host",
                             f"m2={NODES['m3'].docker_host}", via=m1, timeout=120)  # fmt: skip
    assert wrong.returncode == 0, shown(wrong)
    on_m2 = [t for s in json.loads(wrong.stdout) for t in s["tasks"] if t["node"] == "m2"]
    assert on_m2, wrong.stdout
    for task in on_m2:
        assert task["memory_bytes"] is None and "not this one" in task["error"], task


def test_draining_the_worker_moves_its_tasks_and_fails_no_request(
    cluster: Cluster, tls: Any
) -> None:
    m1, w1 = NODES["m1"], NODES["w1"]
    assert "w1" in placement("app", m1), "the zone preference puts one app replica on w1"
    visits = int(psql("SELECT count(*) FROM visits_visit WHERE path = '/'", NODES[DB_NODE]))
    with Load(HTTPS, tls, rate=RATE, address=m1.ip) as load:
        time.sleep(2)
        m1.docker("node", "update", "--availability", "drain", "w1")
        wait_until(lambda: not w1.docker("ps", "-q").stdout.split(), 120, "w1 to be empty")
        wait_until(lambda: converged(cluster, m1), 180, "the stack to converge without w1")
        time.sleep(2)
    figure("drain of the worker: requests sent / failed",
           f"{load.result.sent} / {len(load.result.failures)}")  # fmt: skip
    assert not load.result.failures, load.result.failures[:10]
    apps = placement("app", m1)
    assert len(apps) == 2 and "w1" not in apps, apps
    # Nothing lost: every request answered wrote its visit.
    after = int(psql("SELECT count(*) FROM visits_visit WHERE path = '/'", NODES[DB_NODE]))
    assert after == visits + load.result.sent

    m1.docker("node", "update", "--availability", "active", "w1")
    wait_until(lambda: "w1" in placement("proxy", m1), 120, "the proxy to return to w1")
    wait_until(lambda: converged(cluster, m1), 120, "the stack to converge with w1")
    assert version_at(w1, tls) == "e2e-v1"


def elected(via: nodes.Node, lost: nodes.Node) -> nodes.Node | None:
    found = nodes.leader(via)
    return found if found is not None and found != lost else None


def test_leader_loss_keeps_serving_and_deploying(cluster: Cluster, tls: Any) -> None:
    m2 = NODES["m2"]
    old = nodes.leader(m2)
    assert old is not None and old.name != DB_NODE, old
    survivor = NODES["m2"] if old.name != "m2" else NODES["m1"]
    cluster.use(survivor)
    slots_before = cron_slots(NODES[DB_NODE])
    scheduler_before = placement("scheduler", survivor)
    # The client has moved to a surviving node's proxy; then the leader dies.
    with Load(HTTPS, tls, rate=RATE, address=survivor.ip) as load:
        time.sleep(2)
        killed = time.monotonic()
        old.kill()
        wait_until(lambda: elected(survivor, old), 60, "a new leader", interval=0.1)
        election = time.monotonic() - killed
        wait_until(lambda: converged(cluster, survivor), 240, "the stack to converge again")
        reconverged = time.monotonic() - killed
        time.sleep(2)
    figure("leader killed: to a new leader", f"{election:.1f} s")
    figure("leader killed: to the stack converged again", f"{reconverged:.1f} s")
    figure("leader killed: requests sent / failed through a surviving proxy",
           f"{load.result.sent} / {len(load.result.failures)}")  # fmt: skip
    assert not load.result.failures, load.result.failures[:10]
    assert old.name not in placement("app", survivor)

    # A new release, deployed over SSH through a surviving manager, converges.
    done, seconds = cluster.deploy("v2", survivor)
    assert done.returncode == 0, shown(done)
    figure("v1 -> v2 with one manager down: `swarmkit deploy` to converged", f"{seconds:.1f} s")
    assert version_at(survivor, tls) == "e2e-v2"

    # Cron: no slot ran twice, and slots kept running after the failover.
    wait_until(lambda: max(cron_slots(NODES[DB_NODE])) > time.time() - 6, 60,
               "the scheduler to run a slot again")  # fmt: skip
    slots = cron_slots(NODES[DB_NODE])
    assert set(slots_before) <= set(slots)
    assert all(count == 1 for count in slots.values()), {t: c for t, c in slots.items() if c > 1}
    # The scheduler runs, off the dead node (rescheduled, if it lived there).
    scheduler = placement("scheduler", survivor)
    assert len(scheduler) == 1 and old.name not in scheduler, scheduler
    figure("leader killed: the scheduler's node before / after",
           f"{','.join(scheduler_before)} / {scheduler[0]}")  # fmt: skip

    # The engine comes back and rejoins as a manager; its proxy returns.
    cluster.revive(old)
    wait_until(lambda: manager_status(survivor, old) == "reachable", 120,
               f"{old.name} to rejoin as a manager")  # fmt: skip
    wait_until(lambda: old.name in placement("proxy", survivor), 120, "its proxy to return")
    wait_until(lambda: converged(cluster, survivor), 180, "the stack to converge with it")
    assert version_at(old, tls) == "e2e-v2"
    cluster.use(old)


def manager_status(via: nodes.Node, node: nodes.Node) -> str:
    for info in nodes.nodes_info(via):
        if info["Description"]["Hostname"] == node.name:  # type: ignore[index]
            return str(info.get("ManagerStatus", {}).get("Reachability", ""))  # type: ignore[attr-defined]
    return ""


def test_database_node_loss_turns_ready_off_until_it_returns(cluster: Cluster, tls: Any) -> None:
    db = NODES[DB_NODE]
    via = cluster.manager
    apps = app_containers(via)
    assert DB_NODE not in apps, apps  # the cluster overlay keeps the app off it
    history = all_tasks("app", via)
    rows = int(psql("SELECT count(*) FROM visits_visit", db))
    db.kill()
    lost = time.monotonic()
    for name, container in apps.items():
        wait_until(lambda n=name, c=container: probe(NODES[n], c, "/api/ready/") == 503, 60,
                   f"ready to answer 503 on {name}")  # fmt: skip
    # For half a minute: alive stays 200, no app task restarts.
    while time.monotonic() < lost + 30:
        for name, container in apps.items():
            assert probe(NODES[name], container, "/api/alive/") == 200, name
            assert probe(NODES[name], container, "/api/ready/") == 503, name
        time.sleep(2)
    assert all_tasks("app", via) == history, "the app restarted while the database was away"
    assert app_containers(via) == apps

    cluster.revive(db)
    back = time.monotonic()
    for name, container in apps.items():
        wait_until(lambda n=name, c=container: probe(NODES[n], c, "/api/ready/") == 200, 180,
                   f"ready to answer 200 on {name} again")  # fmt: skip
    figure("database node back: to ready on every app replica", f"{time.monotonic() - back:.1f} s")
    assert app_containers(via) == apps, "the app recovered without a restart"
    assert int(psql("SELECT count(*) FROM visits_visit", db)) >= rows
    wait_until(lambda: converged(cluster, via), 180, "the stack to converge again")


def backup_container(node: nodes.Node) -> str:
    (found,) = node.docker("ps", "-q", "--filter", "status=running", "--filter",
                           f"label=com.docker.swarm.service.name={STACK}_backup").stdout.split()  # fmt: skip
    return found


def in_backup(node: nodes.Node, script: str) -> str:
    """A command of docs/multi-node.md's restore, in the backup container on ``node``."""
    done = node.docker("exec", backup_container(node), "sh", "-c",
                       f"PGPASSWORD=$(cat /run/secrets/database_password) {script}", check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_restore_onto_another_node_as_the_docs_say(
    cluster: Cluster, tls: Any, tmp_path: Any
) -> None:
    old, new = NODES[DB_NODE], NODES["m2"]
    via = cluster.manager if cluster.manager is not old else NODES["m1"]
    cluster.use(via)
    # The dumps copied off the database node beforehand, as the docs ask. A
    # dump named after a later second than this count started after it (its
    # name is its start time; it is renamed from .partial when done), so it
    # holds at least these rows.
    count, now = psql("SELECT count(*) || ' ' || to_char(now() AT TIME ZONE 'UTC', "
                      "'YYYYMMDD\"T\"HH24MISS\"Z\"') FROM visits_visit", old).split()  # fmt: skip
    rows, since = int(count), f"{harness.SLUG}-{now}.dump"

    def later_dumps() -> list[str]:
        names = in_backup(old, "ls /backups").split()
        return sorted(n for n in names if n.endswith(".dump") and n > since)

    wait_until(later_dumps, 60, "a dump started after the count")
    dump = later_dumps()[-1]
    old.docker("cp", f"{backup_container(old)}:/backups/{dump}", str(tmp_path / dump))
    old.kill()  # gone for good

    # 1. Stop the app and the scheduler. 2. Move the label.
    via.docker("service", "scale", "--detach", f"{STACK}_app=0", f"{STACK}_scheduler=0")
    via.docker("node", "update", "--label-rm", f"{harness.SLUG}.db", old.name)
    via.docker("node", "update", "--label-add", f"{harness.SLUG}.db=true", new.name)
    # 3. Swarm starts the db on the new node, with new volumes.
    wait_until(lambda: placement("db", via) == [new.name], 180, "the db to start on m2")
    wait_until(lambda: psql("SELECT 1", new) == "1", 120, "PostgreSQL on m2 to answer")
    wait_until(lambda: placement("backup", via) == [new.name], 120, "the backup on m2")
    # 4. Restore the dump through the backup container on the new node.
    container = backup_container(new)
    new.docker("cp", str(tmp_path / dump), f"{container}:/backups/")
    in_backup(new, 'psql -v ON_ERROR_STOP=1 -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"')
    in_backup(new, "pg_restore --no-owner --exit-on-error --single-transaction "
                   f'-d "$PGDATABASE" /backups/{dump}')  # fmt: skip
    restored = int(psql("SELECT count(*) FROM visits_visit", new))
    assert restored >= rows
    # 5. Deploy the release that runs: the app and the scheduler return.
    done, _ = cluster.deploy("v2", via)
    assert done.returncode == 0, shown(done)
    assert version_at(via, tls) == "e2e-v2"
    assert int(psql("SELECT count(*) FROM visits_visit", new)) > restored

    # The old node comes back; its database stays stopped (the label moved).
    cluster.revive(old)
    wait_until(lambda: manager_status(via, old) == "reachable", 120, "m3 to rejoin")
    wait_until(lambda: converged(cluster, via), 180, "the stack to converge with m3")
    assert placement("db", via) == [new.name]


def test_teardown_leaves_nothing_on_the_machine(cluster: Cluster) -> None:
    from tests.cluster.conftest import registry_tags, teardown

    teardown(built=True)
    left = {**nodes.leftovers(), "registry tags": registry_tags()}
    assert left == {k: [] for k in left}, left
