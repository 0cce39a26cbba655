"""Run the end-to-end suite and keep its figures in docs/benchmarks.md.

The suite (tests/e2e) measures as it goes: the time from ``swarmkit deploy``
to converged, requests sent and failed under load during the update and the
rollbacks, the time until a broken release is reported, the cron lease's
recovery. This script runs it with ``SWARMKIT_E2E_FIGURES`` naming a file,
where the suite writes them as JSON, then replaces the block between the
markers in docs/benchmarks.md. Needs what ``make e2e`` needs.
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


def run_suite() -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="swarmkit-e2e-figures-") as work:
        figures = Path(work) / "figures.json"
        env = {**os.environ, "SWARMKIT_E2E_FIGURES": str(figures)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e"]
        done = subprocess.run(command, cwd=REPO, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the end-to-end suite failed (exit {done.returncode}): no figures")
        result: dict[str, str] = json.loads(figures.read_text())
        return result


def render(figures: dict[str, str]) -> str:
    lines = [
        f"Measured {date.today().isoformat()}, one run of `make e2e`.",
        "",
        "| step | result |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in figures.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the docs")
    options = parser.parse_args()
    block = render(run_suite())
    print(block)
    if not options.no_write:
        replace_block("e2e", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
