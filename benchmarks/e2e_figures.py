"""Run the end-to-end, the cluster or the pipeline suite and keep its figures in docs/benchmarks.md.

The end-to-end suite (tests/e2e) measures as it goes: the time from
``swarmkit deploy`` to converged, requests sent and failed under load during
the update and the rollbacks, the time until a broken release is reported,
the cron lease's recovery. The cluster suite (tests/cluster, ``--suite
cluster``) measures the leader election after the leader's engine is killed,
the time until the stack converges again, the requests failed meanwhile
through a surviving proxy, deploy times on three nodes, the drain and the
database node's return. The pipeline suite (tests/pipeline, ``--suite
pipeline``) measures the build job of a first pipeline and of the next one
after a one-line change, and the deploy and stop jobs of two review apps.
This script runs a suite with
``SWARMKIT_E2E_FIGURES`` (``SWARMKIT_CLUSTER_FIGURES``) naming a file, where
the suite writes them as JSON, then replaces the block between the markers
in docs/benchmarks.md. Needs what ``make e2e`` (``make cluster``) needs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from doc_blocks import replace_block

REPO = Path(__file__).resolve().parents[1]


def run_suite(suite: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix=f"swarmkit-{suite}-figures-") as work:
        figures = Path(work) / "figures.json"
        env = {**os.environ, f"SWARMKIT_{suite.upper()}_FIGURES": str(figures)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/{suite}"]
        done = subprocess.run(command, cwd=REPO, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the {suite} suite failed (exit {done.returncode}): no figures")
        result: dict[str, str] = json.loads(figures.read_text())
        return result


def render(figures: dict[str, str], suite: str) -> str:
    lines = [
        f"Measured {date.today().isoformat()}, one run of `make {suite}`.",
        "",
        "| step | result |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in figures.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("e2e", "cluster", "pipeline"), default="e2e")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the docs")
    options = parser.parse_args()
    block = render(run_suite(options.suite), options.suite)
    print(block)
    if not options.no_write:
        replace_block(options.suite, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
