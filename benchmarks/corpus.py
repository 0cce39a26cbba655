"""Run the stack corpus (tests/stack/corpus/) through swarmkit and the docker CLI.

For every file: does ``docker stack config`` accept it, does swarmkit, and if
both do, is the merged data the same (tests/stack/oracle.py's comparison).
Prints the counts (agree, refused by both, disagree), the constructs the
corpus covers, and each tool's time per file: swarmkit's load and render in
this process, the CLI's whole command (it starts in about 20 ms). The block
replaces the ``corpus`` block of docs/benchmarks.md.

    python benchmarks/corpus.py [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from doc_blocks import replace_block

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarmkit.exceptions import StackError  # noqa: E402
from swarmkit.stack import load_stack, render_stack  # noqa: E402
from tests.stack.docker_cli import docker_stack_config  # noqa: E402
from tests.stack.oracle import run_both  # noqa: E402

CORPUS = ROOT / "tests" / "stack" / "corpus"

# The constructs found in public stack files (docs/stack.md), each with the
# text that shows a corpus file uses it.
CONSTRUCTS: dict[str, str] = {
    "anchor and alias": r"&[\w-]+[\s\S]*\*[\w-]+",
    "merge key <<": r"<<: \*",
    "merge of a list of aliases": r"<<: \[\*",
    "x- extension block": r"(?m)^x-[\w-]+:",
    "x- block before version": r"\Ax-",
    "traefik labels, list form": r"- \"?traefik\.",
    "traefik labels, mapping form": r"(?m)^\s+traefik\.[\w.-]+: ",
    "external: {name} (3.0-3.4)": r"external:\s*\n\s+name:",
    "external: true with name (3.5+)": r"external: true\n\s+name:",
    "global service": r"mode: global",
    "placement constraints": r"constraints:",
    "placement preferences": r"spread:",
    "max_replicas_per_node": r"max_replicas_per_node",
    "short port syntax": r"- \"?\d+(-\d+)?:\d+",
    "long port syntax": r"- target: \d+",
    "port ranges and protocols": r"\d+-\d+:\d+-\d+|/udp",
    "short volume syntax": r"- [\w./-]+:/",
    "long volume syntax (bind, volume, tmpfs)": r"type: tmpfs",
    "short and long secrets": r"secrets:\n\s+- \w+\n\s+- source:",
    "short and long configs": r"configs:\n\s+- \w+\n\s+- source:",
    "CRLF line endings": r"\r\n",
    "${VAR}": r"\$\{[A-Z_]+\}",
    "$VAR": r"\$[A-Z_]+\b",
    "${VAR:-default}": r"\$\{\w+:-",
    "${VAR-default}": r"\$\{\w+-",
    "${VAR?message} / ${VAR:?message}": r"\$\{\w+:?\?",
    "$$ escape": r"\$\$",
    "Go templates ({{.Node.ID}})": r"\{\{\.",
    "interpolated number (replicas)": r"replicas: \$\{",
    "healthcheck (CMD, CMD-SHELL, string, disable)": r"CMD-SHELL",
    "resources limits and reservations": r"reservations:",
    "update_config and rollback_config": r"rollback_config:",
    "restart_policy": r"restart_policy:",
    "endpoint_mode dnsrr": r"endpoint_mode: dnsrr",
    "logging driver and options": r"logging:\n\s+driver:",
    "ulimits (single and soft/hard)": r"ulimits:",
    "sysctls (mapping and list)": r"sysctls:",
    "env_file (string and list)": r"env_file:",
    "keys stack deploy ignores (build, container_name, restart, links)": r"container_name:",
    "folded and literal blocks": r": [>|]\s*\n",
    "network aliases and driver_opts": r"aliases:",
    "depends_on": r"depends_on:",
    "stop_grace_period": r"stop_grace_period:",
}


def docker_version() -> str:
    result = subprocess.run(["docker", "--version"], capture_output=True, text=True, check=False)
    return result.stdout.split(",")[0].removeprefix("Docker version ").strip()


def cli_seconds(path: Path, environ: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        docker_stack_config([path], environ)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def swarmkit_seconds(path: Path, environ: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with contextlib.suppress(StackError):  # a refuse-* file: the refusal is timed
            render_stack(load_stack(path, environ=environ))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()

    environ = json.loads((CORPUS / "environ.json").read_text())
    environ = {"PATH": os.environ.get("PATH", ""), **environ}
    files = sorted(CORPUS.glob("*.yml"))
    agree = refused_both = disagree = 0
    disagreeing: list[str] = []
    ours: list[float] = []
    theirs: list[float] = []
    texts = []
    for path in files:
        texts.append(path.read_bytes().decode())
        outcome = run_both([path], environ)
        if outcome.cli_error and outcome.our_error is not None:
            refused_both += 1
        elif not outcome.cli_error and outcome.our_error is None and outcome.ours == outcome.cli:
            agree += 1
        else:
            disagree += 1
            disagreeing.append(path.name)
        ours.append(swarmkit_seconds(path, environ, options.runs))
        theirs.append(cli_seconds(path, environ, options.runs))
    covered = [
        name for name, pattern in CONSTRUCTS.items() if any(re.search(pattern, t) for t in texts)
    ]
    missing = sorted(set(CONSTRUCTS) - set(covered))
    lines = [
        "| figure | value |",
        "|---|---|",
        f"| corpus files | {len(files)} |",
        f"| constructs covered | {len(covered)} of {len(CONSTRUCTS)} |",
        f"| same output as `docker stack config` | {agree} |",
        f"| refused by both | {refused_both} |",
        f"| disagree | {disagree}{' (' + ', '.join(disagreeing) + ')' if disagreeing else ''} |",
        f"| swarmkit load + render, median per file | {statistics.median(ours) * 1000:.1f} ms |",
        f"| `docker stack config`, whole command, median per file | "
        f"{statistics.median(theirs) * 1000:.1f} ms |",
        "",
        f"Constructs not covered: {', '.join(missing) if missing else 'none'}. "
        f"Median of {options.runs} runs per file, swarmkit in one warm process "
        f"(no interpreter start), docker "
        f"{docker_version()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"measured {time.strftime('%Y-%m-%d')} by `benchmarks/corpus.py`.",
    ]
    block = "\n".join(lines)
    print(block)
    if not options.no_write:
        replace_block("corpus", block, heading="## The stack corpus against `docker stack config`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
