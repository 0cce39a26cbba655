"""The generated ``.gitlab-ci.yml``, run by gitlab-ci-local with the docker executor.

The tests share one baked project (a git repository) and run in file order,
as a team's pipelines follow one another: the checks (test, hadolint,
shellcheck), a broken test, the build and its rebuild after a one-line
change, the deploy, a broken release's deploy. Under ``CI=true`` a missing
engine or tool fails (see conftest).
"""

from __future__ import annotations

from pathlib import Path

from tests.pipeline import project as pipe
from tests.pipeline.conftest import Runner

CHECKS = ("test", "hadolint", "shellcheck")


def test_checks_pass_in_their_images(ci: Runner, project: Path) -> None:
    run = ci.run_checks(project, *CHECKS)
    assert run.returncode == 0, run.shown()
    for job in CHECKS:
        assert run.outcome(job) == "PASS", run.shown()
    # Each job ran in its own image, with the docker executor.
    assert "test starting python:3.12-slim-bookworm (test)" in run.output, run.shown()
    assert "hadolint starting hadolint/hadolint:v2.12.0-debian" in run.output, run.shown()
    assert "shellcheck starting koalaman/shellcheck-alpine:v0.10.0" in run.output, run.shown()
    # The test job ran the project's tests against its PostgreSQL service.
    assert " passed" in run.job_log("test"), run.shown()


BROKEN_TEST = """
def test_a_change_broke_this():
    assert 1 + 1 == 3, "a broken test"
"""


def test_a_broken_test_fails_the_pipeline(ci: Runner, project: Path) -> None:
    pipe.commit(project, "a broken test",
                lambda p: (p / "tests" / "test_broken.py").write_text(BROKEN_TEST))  # fmt: skip
    try:
        run = ci.run_checks(project, "test")
    finally:
        pipe.git(project, "reset", "-q", "--hard", "HEAD~1")
    assert run.returncode != 0, run.shown()
    assert run.outcome("test") == "FAIL", run.shown()
    assert "test_a_change_broke_this" in run.output, run.shown()
