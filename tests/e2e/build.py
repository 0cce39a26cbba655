"""The baked project of the end-to-end and cluster suites, and its images.

The project is baked from this checkout's template and gains one cron job
that runs every three seconds (as a team adds its own jobs). Its images are
built with BuildKit on the machine's engine; the checkout's swarm-django
wheel reaches the build through a password-protected package index, as a
private one would.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.e2e import harness
from tests.template.helpers import (
    RELOCK,
    bake,
    build_swarm_django_wheel,
    check,
    clean_env,
    cookiecutter_config,
    find_links,
    lock_is_current,
    python_for,
    requirements_script,
    ship_wheel,
    tools_venv,
)
from tests.template.servers import PackageIndex, build

#: Changes a copy of the project into a variant (a broken release, say).
Variant = Callable[[Path], None]


def bake_project(root: Path, answers: Mapping[str, str], *, cron_job: bool = True) -> Path:
    """The project baked under ``root``, its lock pinning this checkout's wheel.

    With ``cron_job`` (and cron chosen), it gains the suite's three-second cron job.
    """
    config = cookiecutter_config(root / "cookiecutter-home")
    project = bake(root / "baked", config, dict(answers))
    wheel = build_swarm_django_wheel(root / "wheelhouse")
    if not lock_is_current(project, wheel):
        # This checkout's swarmkit changed since `make template-lock`.
        ship_wheel(project, wheel)
        tools = tools_venv(python_for("3.12"), "3.12")
        env = clean_env(PIP_FIND_LINKS=find_links(wheel.parent))
        check(requirements_script(project, str(tools / "bin" / "python"), "lock", env, *RELOCK))
    if cron_job:
        cron = project / project.name / "cron.py"  # the project directory is named by its slug
        cron.write_text(cron.read_text() + harness.CRON_JOB)
    return project


def build_images(project: Path, root: Path, image: str,
                 variants: Mapping[str, Variant | None], *, label: str = harness.LABEL) -> None:  # fmt: skip
    """``image:<tag>`` for each tag of ``variants``: the project, or a changed copy of it.

    Each image says its tag (``APP_VERSION=e2e-<tag>``) on the home page and
    carries ``label``, by which its suite removes it.
    """
    index = PackageIndex(root / "index", root / "wheelhouse").start()
    secret = root / "pip_index_url"
    try:
        secret.write_text(index.url())
        for tag, variant in variants.items():
            context = project
            if variant is not None:
                context = root / f"variant-{tag}"
                shutil.rmtree(context, ignore_errors=True)
                shutil.copytree(project, context)
                variant(context)
            check(build(context, f"{image}:{tag}", build_args=[f"APP_VERSION=e2e-{tag}"],
                        secret_file=secret, label=label))  # fmt: skip
    finally:
        index.stop()
        secret.unlink(missing_ok=True)
