"""The generated ``.gitlab-ci.yml``, run by gitlab-ci-local with the docker executor.

The tests share one baked project (a git repository) and run in file order,
as a team's pipelines follow one another: the checks (test, hadolint,
shellcheck), a broken test, the build and its rebuild after a one-line
change, the deploy, a broken release's deploy, two merge requests' review
apps side by side and their stop jobs. Under ``CI=true`` a missing
engine or tool fails (see conftest).
"""

from __future__ import annotations

import random
import re
import socket
import ssl
import uuid
from pathlib import Path

from tests.e2e import harness
from tests.pipeline import project as pipe
from tests.pipeline import runner
from tests.pipeline.conftest import Runner, figure
from tests.pipeline.runner import Run

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


def _steps(run: Run) -> dict[str, bool]:
    """BuildKit's steps in the build job's log (plain progress): instruction -> was CACHED."""
    names: dict[str, str] = {}
    cached: dict[str, bool] = {}
    for line in run.job_log("build").splitlines():
        found = re.search(r"build > #(\d+) (\[.*)$", line)
        if found:
            names.setdefault(found.group(1), found.group(2))
            cached.setdefault(found.group(1), False)
        found = re.search(r"build > #(\d+) CACHED$", line)
        if found:
            cached[found.group(1)] = True
    return {names[n]: cached[n] for n in names}


def _dependency_steps(steps: dict[str, bool]) -> dict[str, bool]:
    return {name: hit for name, hit in steps.items() if "pip install" in name or "apt-get" in name}


def test_build_pushes_the_commit_and_reuses_the_dependency_layers(
    ci: Runner, project: Path
) -> None:
    first = ci.run_build(project, "build")
    assert first.returncode == 0 and first.outcome("build") == "PASS", first.shown()
    sha = pipe.git(project, "rev-parse", "HEAD")[:8]
    assert sha in ci.registry.tags(pipe.REPOSITORY), first.shown()
    # What the buildx stand-in ran in place of `docker buildx build --push`.
    assert "buildx stand-in: /usr/local/libexec/docker-legacy/docker build" in first.output
    assert f"buildx stand-in: /usr/local/libexec/docker-legacy/docker push {ci.image}:{sha}" in (
        first.output
    ), first.shown()
    # The engine's build cache outlives a run: say whether the first build found it warm.
    warm = any(_dependency_steps(_steps(first)).values())
    figure("build job, first pipeline",
           f"{first.seconds:.0f} s ({'dependency layers already cached' if warm else 'cold'})")  # fmt: skip

    # A one-line code change: the next pipeline's image, from the cached dependency layers.
    change = pipe.commit(project, "a one-line change", _one_line_change)
    second = ci.run_build(project, "build")
    assert second.returncode == 0 and second.outcome("build") == "PASS", second.shown()
    assert change in ci.registry.tags(pipe.REPOSITORY), second.shown()
    steps = _steps(second)
    dependencies = _dependency_steps(steps)
    assert dependencies and all(dependencies.values()), (dependencies, second.shown())
    copies = [hit for name, hit in steps.items() if "COPY . " in name]
    assert copies and not any(copies), (steps, second.shown())
    figure(
        "build job after a one-line change", f"{second.seconds:.0f} s (dependency layers cached)"
    )


def _one_line_change(project: Path) -> None:
    urls = project / pipe.SLUG / "urls.py"
    # Unique per run: the engine's build cache outlives the suite, and the same
    # change as last run's would find its layers cached.
    urls.write_text(urls.read_text() + f"# a one-line change {uuid.uuid4().hex}\n")


def _release(ci: Runner, project: Path) -> str:
    """The image of HEAD in the registry (the build job run if it is not there yet)."""
    sha = pipe.git(project, "rev-parse", "HEAD")[:8]
    if sha not in ci.registry.tags(pipe.REPOSITORY):
        run = ci.run_build(project, "build")
        assert run.outcome("build") == "PASS", run.shown()
    return f"{ci.image}:{sha}"


def test_deploy_job_converges_over_ssh(ci: Runner, project: Path, secrets_created: None) -> None:
    image = _release(ci, project)
    run = ci.run_deploy(project)
    assert run.returncode == 0 and run.outcome("deploy:staging") == "PASS", run.shown()
    figure("deploy job to converged (first deploy)", f"{run.seconds:.0f} s")
    assert pipe.service_image(pipe.STACK, "app") == image
    assert pipe.service_image(pipe.STACK, "scheduler") == image
    # The job reached the swarm over ssh://, through the suite's sshd.
    assert ci.sshd.logins() > 0


def test_a_broken_release_fails_the_deploy_job_and_rolls_back(
    ci: Runner, project: Path, secrets_created: None
) -> None:
    previous = _release(ci, project)
    if pipe.service_image(pipe.STACK, "app") != previous:  # run alone: deploy the good one first
        assert ci.run_deploy(project).outcome("deploy:staging") == "PASS"
    pipe.commit(project, "a broken migration", _broken_migration)
    try:
        broken = _release(ci, project)
        run = ci.run_deploy(project)
    finally:
        pipe.git(project, "reset", "-q", "--hard", "HEAD~1")
    assert run.returncode != 0 and run.outcome("deploy:staging") == "FAIL", run.shown()
    log = run.job_log("deploy:staging")
    # swarmkit's report, then its one error line, in the job's log.
    assert f"rolled back to {previous}" in log, run.shown()
    assert "this release's migration is broken" in log, run.shown()
    assert "swarmkit: error: stack " in log, run.shown()
    assert broken not in pipe.service_image(pipe.STACK, "app")
    assert pipe.service_image(pipe.STACK, "app") == previous
    assert pipe.service_image(pipe.STACK, "scheduler") == previous
    figure("deploy job of a broken release to failed", f"{run.seconds:.0f} s")


def _broken_migration(project: Path) -> None:
    migration = project / "visits" / "migrations" / "0002_pipeline_broken.py"
    migration.write_text(harness.BROKEN_MIGRATION)


# -- review apps: two merge requests' stacks side by side, then both stopped -------------

REVIEWS = (("pipeline-review-a", 1), ("pipeline-review-b", 2))  # branch, merge request number


def _free_port_base(count: int) -> int:
    """A REVIEW_PORT_BASE whose review ports (base + 2 .. base + count) are all free here."""
    for _ in range(200):
        base = random.randrange(30000, 60000, 10)
        try:
            for port in range(base + 2, base + count + 1):
                with socket.socket() as probe:
                    probe.bind(("0.0.0.0", port))
        except OSError:
            continue
        return base
    raise AssertionError("no free range of review ports")


def _review_variables(ci: Runner, iid: int, base: int) -> dict[str, str]:
    """A merge request pipeline's: GitLab's MR values; REVIEW_PORT_BASE, a review/* CI/CD variable."""
    return {**ci.deploy(), "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": str(iid), "REVIEW_PORT_BASE": str(base)}  # fmt: skip


def _review_job(ci: Runner, project: Path, branch: str, job: str, variables: dict[str, str]) -> Run:
    """``job`` of a merge request pipeline of ``branch`` (the same commit as development's)."""
    pipe.git(project, "checkout", "-q", "-B", branch)
    try:
        return runner.pipeline(project, [job], variables=variables, options=["--network", "host"])
    finally:
        pipe.git(project, "checkout", "-q", "development")


def _visits(port: int, branch: str) -> int:
    """The visit count the review app of ``branch`` shows on its home page (each GET adds one)."""
    context = ssl.create_default_context()
    context.check_hostname = False  # the shared staging pair, self-signed
    context.verify_mode = ssl.CERT_NONE
    status, _, body = harness.request(port, "/", context, host=f"{branch}.review.example.com")
    assert status == 200, body[-2000:]
    found = re.search(r'id="visit-count">(\d+)<', body)
    assert found, body[-2000:]
    return int(found.group(1))


def test_two_review_apps_side_by_side_then_both_stopped(
    ci: Runner, project: Path, secrets_created: None
) -> None:
    image = _release(ci, project)
    base = _free_port_base(2 * len(REVIEWS) + 1)
    stacks: dict[str, int] = {}
    for branch, iid in REVIEWS:
        run = _review_job(ci, project, branch, "deploy:review", _review_variables(ci, iid, base))
        assert run.returncode == 0 and run.outcome("deploy:review") == "PASS", run.shown()
        stack = f"review-{branch}"
        stacks[branch] = base + 2 * iid + 1  # its HTTPS port
        assert pipe.service_image(stack, "app") == image, run.shown()
        figure(f"review app deploy job to converged ({branch})", f"{run.seconds:.0f} s")
    assert set(pipe.stacks()) >= {f"review-{b}" for b in stacks}, pipe.stacks()

    # Both answer, each on its own port, each from its own database.
    (branch_a, port_a), (branch_b, port_b) = stacks.items()
    a, b = f"review-{branch_a}", f"review-{branch_b}"
    for _ in range(3):
        counted_a = _visits(port_a, branch_a)
    assert _visits(port_b, branch_b) < counted_a, "review app b counts a's visits: one database?"
    for kind in ("secrets", "volumes"):
        objects_a, objects_b = pipe.leftovers(a)[kind], pipe.leftovers(b)[kind]
        assert objects_a and objects_b and not set(objects_a) & set(objects_b), kind
    assert f"{a}_db-data" in pipe.leftovers(a)["volumes"]

    # Both stop jobs: nothing of either left; the shared staging TLS pair stays.
    for branch, iid in REVIEWS:
        run = _review_job(ci, project, branch, "stop:review", _review_variables(ci, iid, base))
        assert run.returncode == 0 and run.outcome("stop:review") == "PASS", run.shown()
        assert f"removed volume review-{branch}_db-data" in run.job_log("stop:review"), run.shown()
        figure(f"review app stop job ({branch})", f"{run.seconds:.0f} s")
    for stack in (a, b):
        assert pipe.leftovers(stack) == {kind: [] for kind in pipe.leftovers(stack)}, stack
    assert (
        harness.docker("secret", "inspect", f"{pipe.SLUG}_tls_cert_v1", check=False).returncode == 0
    )
