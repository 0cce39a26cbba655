"""SSH logins per ``swarmkit`` command, and ``status`` over SSH against local.

Starts the test suite's private sshd on 127.0.0.1 (``tests/deploy/sshd.py``:
its own keys, needs root and openssh-server), deploys a small stack of three
services named ``sktest-deploy-bench<hex>`` on the local swarm, and runs
``swarmkit status`` and ``swarmkit deploy`` with ``DOCKER_HOST=ssh://...``,
counting the ``Accepted publickey`` lines sshd logs for each. For
comparison, the same status through ``connect()`` (the docker SDK's own
``ssh://``, a login per request: what the CLI did before ``engine_session``).
The wall time is the median of ``--runs`` whole commands (interpreter start
included), over SSH and with the local socket in turns. The stack is
removed at the end. Writes the block ``ssh-logins`` of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from doc_blocks import replace_block  # noqa: E402

from tests.deploy.conftest import DOCKER, deploy_stack  # noqa: E402
from tests.deploy.sshd import missing, private_sshd  # noqa: E402

OLD_STATUS = (
    "import sys; from swarmkit.deploy import connect, format_status, stack_status; "
    "sys.stdout.write(format_status(stack_status(connect(), sys.argv[1])))"
)


def run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed: {done.stderr.strip()}")
    return elapsed


def measure(runs: int) -> dict[str, str]:
    reason = missing()
    if reason:
        raise SystemExit(reason)
    swarmkit = [sys.executable, "-m", "swarmkit"]
    stack = f"sktest-deploy-bench{os.urandom(3).hex()}"
    with tempfile.TemporaryDirectory(prefix="sk-bench-") as work, private_sshd(Path(work)) as sshd:
        ssh = sshd.client_env("client")
        local = {"DOCKER_HOST": ""}
        path = deploy_stack(stack, Path(work), {"web": 1, "worker": 1, "cron": 1})
        try:
            run([*swarmkit, "deploy", "-c", str(path), "--name", stack,
                 "--resolve-image", "never", "-q"], local)  # fmt: skip
            before = sshd.logins()
            run([*swarmkit, "status", stack], ssh)
            status_logins = sshd.logins() - before
            before = sshd.logins()
            run([sys.executable, "-c", OLD_STATUS, stack], ssh)
            old_logins = sshd.logins() - before
            path.write_text(path.read_text().replace("replicas: 1", "replicas: 2", 1))
            before = sshd.logins()
            run([*swarmkit, "deploy", "-c", str(path), "--name", stack,
                 "--resolve-image", "never", "-q"], ssh)  # fmt: skip
            deploy_logins = sshd.logins() - before
            # In turns, so that the other agents' load falls on both alike.
            pairs = [
                (run([*swarmkit, "status", stack], ssh), run([*swarmkit, "status", stack], local))
                for _ in range(runs)
            ]
            over_ssh = statistics.median(p[0] for p in pairs)
            locally = statistics.median(p[1] for p in pairs)
            old = statistics.median(
                run([sys.executable, "-c", OLD_STATUS, stack], ssh) for _ in range(runs)
            )
        finally:
            subprocess.run([DOCKER, "stack", "rm", stack], capture_output=True, check=False)
    return {
        "SSH logins per `swarmkit status` (3 services)": f"{status_logins} (target 1)",
        "SSH logins per `swarmkit deploy` (with `docker stack deploy` and the wait)": (
            f"{deploy_logins} (target 1)"
        ),
        "SSH logins per status through `connect()` (the SDK's `ssh://`, as before)": str(
            old_logins
        ),
        "`swarmkit status` wall time, local socket": f"{locally:.3f} s",
        "`swarmkit status` wall time, over SSH": f"{over_ssh:.3f} s",
        "status over SSH / local": f"{over_ssh / locally:.2f} (target at most 1.3)",
        "status through `connect()` over SSH, as before": f"{old:.3f} s",
    }


def render(figures: dict[str, str], runs: int) -> str:
    lines = ["| figure | result |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in figures.items()]
    lines += [
        "",
        f"Median of {runs} runs in turns, whole command (interpreter start included), "
        f"sshd and engine on the same machine (127.0.0.1), Python {platform.python_version()}, "
        f"{os.cpu_count()} cores shared with other agents' test suites (so loaded), "
        f"measured {date.today().isoformat()} by `benchmarks/ssh_logins.py`.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the docs")
    options = parser.parse_args()
    block = render(measure(options.runs), options.runs)
    print(block)
    if not options.no_write:
        replace_block("ssh-logins", block, heading="## SSH logins and `status` over SSH")
    return 0


if __name__ == "__main__":
    sys.exit(main())
