"""The pipeline's lint: the `test` job's own commands, run on a baked project.

They lint the stacks (staging, production, the review overlay), write one
GitLab Code Quality report of all (the job's ``codequality`` artifact, kept
when the job fails) and fail the job on a lint error, after the tests, or at
once on bad input (exit 2 of swarmkit).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.template.helpers import DEFAULT_COMBO, Bakes, clean_env, output, run, tool

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "stack" / "schemas" / "gitlab-code-quality.json").read_text()
)
REPORT = "gl-code-quality-report.json"
# The job's script, but for what needs the database or is another check.
OTHER_CHECKS = ("python scripts/requirements.py", "ruff ", "python -m pytest")


def job_of(project: Path) -> dict[str, Any]:
    job: dict[str, Any] = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["test"]
    return job


def lint_script(project: Path) -> str:
    """The test job's script without the other checks, as GitLab's shell runs it."""
    commands = [c for c in job_of(project)["script"] if not c.startswith(OTHER_CHECKS)]
    return "set -eo pipefail\n" + "\n".join(commands) + "\n"


def run_lint(project: Path) -> tuple[int, str, list[dict[str, Any]] | None]:
    bash = tool("bash", "apt-get install bash")
    # swarmkit and python from this checkout's venv, as the job has them from its lock.
    env = clean_env(IMAGE="registry.example.com/acme/shop", TAG="0123abcd")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = run([bash, "-c", lint_script(project)], cwd=project, env=env, timeout=300)
    report_path = project / REPORT
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return done.returncode, output(done), report


@pytest.fixture
def project(bakes: Bakes, tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(bakes.project(DEFAULT_COMBO), copy)
    return copy


def test_the_job_publishes_the_report_even_when_it_fails(project: Path) -> None:
    job = job_of(project)
    assert job["artifacts"] == {"when": "always", "reports": {"codequality": REPORT}}
    script = job["script"]
    # The report is written before the tests run, and the lint's verdict comes last.
    lint_at = next(i for i, c in enumerate(script) if "swarmkit lint" in c)
    assert lint_at < script.index("python -m pytest") < len(script) - 1
    assert "lint_failed" in script[-1]


def test_clean_stacks_pass_with_a_valid_report(project: Path) -> None:
    status, log, report = run_lint(project)
    assert status == 0, log
    # The three stacks (staging, production, a review app), as text in the job's log.
    assert log.count("\n0 errors, ") == 3, log
    assert report is not None
    assert [e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(report)] == []
    assert len({i["fingerprint"] for i in report}) == len(report)


def test_a_lint_error_in_one_stack_fails_the_job_and_is_in_the_report(project: Path) -> None:
    overlay = project / "deploy" / "stack.production.yml"
    text = overlay.read_text()
    assert "\nservices:\n" in text
    # A service of the production overlay only, with a capability that breaks isolation.
    data = yaml.safe_load(text)
    data["services"]["debug"] = {"image": "busybox:1.37", "cap_add": ["SYS_ADMIN"]}
    overlay.write_text(yaml.safe_dump(data, sort_keys=False))
    status, log, report = run_lint(project)
    assert status == 1, log
    assert "SK305 error services.debug.cap_add[0]" in log, log
    assert report is not None
    assert [e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(report)] == []
    (issue,) = [i for i in report if i["check_name"] == "SK305"]
    assert issue["location"]["path"] == "deploy/stack.production.yml"
    assert issue["severity"] == "major" and issue["location"]["lines"]["begin"] > 1


def test_bad_input_stops_the_job_at_once(project: Path) -> None:
    (project / "deploy" / "staging.env").write_text("export TAG=1\n")
    status, log, report = run_lint(project)
    assert status != 0, log
    assert "swarmkit: error: deploy/staging.env:1: " in log and "Traceback" not in log, log
    # Stopped there: neither the production stack's lint nor a report.
    assert not (project / "gl-code-quality-production.json").exists() and report is None
