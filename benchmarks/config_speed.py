"""Time ``swarmkit config`` against ``docker stack config``; record the figures.

Three workloads: the source dissertation's stack plus its production overlay
(the everyday case: the whole command, interpreter start included, should stay
under 0.5 s), a generated 500-service stack plus an overlay touching every
service, and one service publishing the whole port range (65,536 ports, which
the port de-duplication must handle in linear time). Each command runs
several times; the median wall time is kept. The figures replace the block
between the markers in docs/benchmarks.md.

    python benchmarks/config_speed.py [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from doc_blocks import replace_block

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "stack" / "fixtures" / "source" / "chapter4"


def generate(root: Path, services: int) -> list[Path]:
    base = ['version: "3.8"', "services:"]
    overlay = ['version: "3.8"', "services:"]
    for i in range(services):
        base += [
            f"  svc{i}:",
            f"    image: registry.example.com/team/svc{i}:${{TAG:-1.0.{i}}}",
            "    environment: {A: '1', B: '2', DATABASE_URI_FILE: /run/secrets/db}",
            f"    ports: ['{10000 + i}:8000']",
            "    networks: [front, back]",
            "    secrets: [db]",
            "    healthcheck: {test: [CMD, /bin/true], interval: 10s, retries: 3}",
            "    deploy:",
            "      replicas: 2",
            "      update_config: {order: start-first, failure_action: rollback, delay: 5s}",
            "      resources: {limits: {cpus: '0.5', memory: 256M}}",
        ]
        overlay += [f"  svc{i}:", "    deploy: {replicas: 3}", "    environment: {B: '3'}"]
    base += [
        "networks: {front: {driver: overlay}, back: {driver: overlay}}",
        "secrets: {db: {external: true}}",
    ]
    paths = [root / "stack.yml", root / "stack.overlay.yml"]
    paths[0].write_text("\n".join(base) + "\n")
    paths[1].write_text("\n".join(overlay) + "\n")
    return paths


def generate_port_range(root: Path) -> list[Path]:
    path = root / "ports.yml"
    path.write_text(
        'version: "3.8"\nservices:\n  app:\n    image: nginx:1.27\n    ports: ["0-65535:0-65535"]\n'
    )
    return [path]


def median_seconds(args: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()

    swarmkit = [sys.executable, "-m", "swarmkit"]
    docker = shutil.which("docker")
    env = {**os.environ, "API_IMAGE_URI": "registry.example.com/app", "API_IMAGE_TAG": "1.0"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big = generate(Path(tmp), 500)
        workloads = {
            "source stack + production overlay": [
                SOURCE / "stack.yml",
                SOURCE / "stack.production.yml",
            ],
            "generated 500 services + overlay": big,
            "one service, ports 0-65535:0-65535": generate_port_range(Path(tmp)),
        }
        for name, files in workloads.items():
            flags = [arg for file in files for arg in ("-c", str(file))]
            ours = median_seconds([*swarmkit, "config", *flags], options.runs, env)
            theirs = (
                median_seconds([docker, "stack", "config", *flags], options.runs, env)
                if docker
                else float("nan")
            )
            rows.append((name, ours, theirs))
    table = [
        "| workload | `swarmkit config` | `docker stack config` |",
        "|---|---|---|",
        *(f"| {name} | {ours:.3f} s | {theirs:.3f} s |" for name, ours, theirs in rows),
        "",
        f"Median of {options.runs} runs, whole command (interpreter start included), "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"measured {time.strftime('%Y-%m-%d')} by `benchmarks/config_speed.py`.",
    ]
    block = "\n".join(table)
    print(block)
    if not options.no_write:
        replace_block("config-speed", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
