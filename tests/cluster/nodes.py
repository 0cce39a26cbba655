"""Four Docker engines on this machine, one per network namespace, as one swarm.

Each node is a network namespace ``skc-<name>`` with a veth pair to the bridge
``skc0`` (10.213.7.0/24; the host side is 10.213.7.1, where the registry
listens), and its own ``dockerd`` started with ``nsenter --net`` (see
``../shared/e2e/NOTES.md``): data under ``/var/lib/swarmkit-cluster/<name>``,
socket, pid file and exec root under ``/run/swarmkit-cluster/<name>``.
Engines ``m1``, ``m2`` and ``m3`` are managers, ``w1`` a worker.

:func:`remove_all` removes every process, mount, namespace, link, iptables
rule and directory this module creates, whether a run ended or was killed;
the suite calls it first and last.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

DATA = Path("/var/lib/swarmkit-cluster")
RUN = Path("/run/swarmkit-cluster")
BRIDGE = "skc0"
SUBNET = "10.213.7"
HOST_IP = f"{SUBNET}.1"
PREFIX = "skc-"
MANAGERS = ("m1", "m2", "m3")
WORKERS = ("w1",)
ADDRESSES = {"m1": 11, "m2": 12, "m3": 13, "w1": 14}
ENGINE_CLI = "/usr/bin/docker"  # the engine's own client; the newer one on PATH works too
# The bridged traffic between the namespaces crosses the host's FORWARD chain
# (br_netfilter), where the host engine's DROP policy would stop it.
IPTABLES_RULE = ["DOCKER-USER", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]


def run(*args: str, check: bool = True, timeout: float = 120,
        stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                              check=False, input=stdin, env=env)  # fmt: skip
    except subprocess.TimeoutExpired:
        if check:
            raise
        # A manager without a leader holds requests: to a poll, a failure.
        return subprocess.CompletedProcess(list(args), -1, "", f"timed out after {timeout:g}s")
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.5) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class Node:
    """One engine of the cluster."""

    name: str

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def ip(self) -> str:
        return f"{SUBNET}.{ADDRESSES[self.name]}"

    @property
    def run_dir(self) -> Path:
        return RUN / self.name

    @property
    def socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "dockerd.pid"

    @property
    def log(self) -> Path:
        return DATA / self.name / "dockerd.log"

    @property
    def is_manager(self) -> bool:
        return self.name in MANAGERS

    def docker(self, *args: str, check: bool = True, timeout: float = 120,
               stdin: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return run(ENGINE_CLI, "-H", self.docker_host, *args, check=check, timeout=timeout,
                   stdin=stdin)  # fmt: skip

    def in_netns(self, *args: str) -> list[str]:
        return ["nsenter", f"--net=/var/run/netns/{self.netns}", *args]

    def as_machine(self, *args: str) -> list[str]:
        """``args`` in this node's network namespace, in a UTS namespace named after it.

        Every engine here shares the machine's hostname otherwise, and Swarm
        names nodes by hostname (``swarmkit status`` shows it).
        """
        script = f'hostname {self.name} && exec "$@"'
        return self.in_netns("unshare", "--uts", "sh", "-c", script, "sh", *args)

    def dockerd_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
            return pid
        return None

    def answers(self) -> bool:
        return self.docker("version", "--format", "{{.Server.Version}}", check=False,
                           timeout=10).returncode == 0  # fmt: skip

    def start(self) -> None:
        """Start this node's ``dockerd`` (again, after :meth:`kill`) and wait for its socket."""
        data = DATA / self.name
        data.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            subprocess.Popen(
                self.as_machine(
                    "dockerd", "--data-root", str(data / "docker"),
                    "--exec-root", str(self.run_dir / "exec"), "--pidfile", str(self.pidfile),
                    "-H", self.docker_host, "--bridge", "none", "--storage-driver", "overlay2",
                    # The containers' DNS server for names outside the swarm: the
                    # suite's NXDOMAIN responder (tests/cluster/dns.py), as fast
                    # as a real resolver; no namespace reaches the machine's.
                    "--dns", HOST_IP,
                    # Its own containerd namespaces: the nodes share one filesystem.
                    "--containerd-namespace", f"skc-{self.name}",
                    "--containerd-plugins-namespace", f"skc-{self.name}-plugins",
                ),
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        wait_until(self.answers, 60, f"dockerd of {self.name} to answer")

    def kill(self) -> None:
        """The node dies: its engine, containerd, shims and containers, all at once (SIGKILL)."""
        kill_processes(self.processes())
        wait_until(lambda: not self.processes(), 30, f"the processes of {self.name} to end")
        # The containers' mounts stay behind a killed engine; the next start
        # must find its data root as a crashed machine leaves it, not busy.
        unmount_under(self.run_dir)

    def processes(self) -> list[int]:
        """Every live process of this node: the engine's, and its containers'."""
        found = set(_pids_in_netns(self.netns))
        marker = str(self.run_dir)
        for pid, command in _process_table():
            if marker in command:  # dockerd, containerd, the shims
                found.add(pid)
        found |= _descendants(found)
        return sorted(found)

    def set_link(self, up: bool) -> None:
        run("ip", "link", "set", f"{self.netns}h", "up" if up else "down")


NODES = {name: Node(name) for name in (*MANAGERS, *WORKERS)}


def create() -> None:
    """The bridge, the namespaces and their links, the iptables rule; engines started."""
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{HOST_IP}/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    run("iptables", "-I", *IPTABLES_RULE)
    for node in NODES.values():
        run("ip", "netns", "add", node.netns)
        host_side, node_side = f"{node.netns}h", f"{node.netns}n"
        run("ip", "link", "add", host_side, "type", "veth", "peer", "name", node_side)
        run("ip", "link", "set", host_side, "master", BRIDGE, "up")
        run("ip", "link", "set", node_side, "netns", node.netns)
        ns = ["ip", "-n", node.netns]
        run(*ns, "link", "set", "lo", "up")
        run(*ns, "link", "set", node_side, "name", "eth0")
        run(*ns, "addr", "add", f"{node.ip}/24", "dev", "eth0")
        run(*ns, "link", "set", "eth0", "up")
        run(*ns, "route", "add", "default", "via", HOST_IP)
    for node in NODES.values():
        node.start()


def form_swarm() -> None:
    """``m1`` initialises the swarm; ``m2`` and ``m3`` join as managers, ``w1`` as a worker."""
    first = NODES["m1"]
    first.docker("swarm", "init", "--advertise-addr", first.ip, "--listen-addr", f"{first.ip}:2377")
    tokens = {
        role: first.docker("swarm", "join-token", "-q", role).stdout.strip()
        for role in ("manager", "worker")
    }
    for node in NODES.values():
        if node is first:
            continue
        role = "manager" if node.is_manager else "worker"
        node.docker("swarm", "join", "--token", tokens[role], "--advertise-addr", node.ip,
                    "--listen-addr", f"{node.ip}:2377", f"{first.ip}:2377")  # fmt: skip
    wait_until(lambda: len(ready_nodes(first)) == len(NODES), 120, "every node to be ready")


def nodes_info(via: Node) -> list[dict[str, object]]:
    """``docker node inspect`` of every node, as a manager sees them."""
    ids = via.docker("node", "ls", "-q").stdout.split()
    info: list[dict[str, object]] = json.loads(via.docker("node", "inspect", *ids).stdout)
    return info


def ready_nodes(via: Node) -> list[str]:
    out = via.docker("node", "ls", "--format", "{{.Hostname}} {{.Status}}", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.endswith(" Ready")]


def leader(via: Node) -> Node | None:
    """The node that ``via`` says leads the Raft group, if one does."""
    done = via.docker("node", "ls", "--format", "{{.ManagerStatus}} {{.Hostname}}",
                      check=False, timeout=5)  # fmt: skip
    for line in done.stdout.splitlines():
        status, _, host = line.partition(" ")
        if status == "Leader":
            return NODES.get(host)
    return None


# -- removal ---------------------------------------------------------------------------------


def remove_all() -> None:
    """Remove all this module may have created, in an order that cannot wedge."""
    for node in NODES.values():
        kill_processes(node.processes())
    for prefix in (str(RUN), str(DATA)):
        unmount_under(Path(prefix))
    for node in NODES.values():
        run("ip", "link", "del", f"{node.netns}h", check=False)
        run("ip", "netns", "del", node.netns, check=False)
    run("ip", "link", "del", BRIDGE, check=False)
    while run("iptables", "-D", *IPTABLES_RULE, check=False).returncode == 0:
        pass
    shutil.rmtree(RUN, ignore_errors=True)
    shutil.rmtree(DATA, ignore_errors=True)


def leftovers() -> dict[str, list[str]]:
    """What :func:`remove_all` and the registry's ``stop`` remove, by kind, if any is left."""
    from tests.cluster import registry

    netns = run("ip", "netns", "list", check=False).stdout.split()
    ours = {BRIDGE, *(f"{node.netns}h" for node in NODES.values())}
    links = [line.split(":")[1].strip().split("@")[0]
             for line in run("ip", "-o", "link", "show", check=False).stdout.splitlines()]  # fmt: skip
    rules = run("iptables", "-S", "DOCKER-USER", check=False).stdout.splitlines()
    with open("/proc/self/mounts") as table:
        mounts = [line.split()[1] for line in table]
    return {
        "namespaces": [n for n in netns if n.startswith(PREFIX)],
        "links": [link for link in links if link in ours],
        "iptables": [r for r in rules if f"-i {BRIDGE}" in r],
        "mounts": [m for m in mounts if m.startswith((str(RUN), str(DATA)))],
        "directories": [str(d) for d in (RUN, DATA, registry.CERTS_D) if d.exists()],
        "processes": [str(p) for node in NODES.values() for p in node.processes()],
    }


def kill_processes(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def unmount_under(root: Path) -> None:
    """Lazily unmount every mount point at or below ``root``, deepest first."""
    prefix = str(root)
    with open("/proc/self/mounts") as table:
        points = [line.split()[1] for line in table]
    points = [p.replace("\\040", " ") for p in points]
    for point in sorted({p for p in points if p == prefix or p.startswith(prefix + "/")},
                        key=len, reverse=True):  # fmt: skip
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _pids_in_netns(netns: str) -> list[int]:
    done = run("ip", "netns", "pids", netns, check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def _process_table() -> list[tuple[int, str]]:
    table = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            table.append((int(entry.name), command))
    return table


def _descendants(roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
