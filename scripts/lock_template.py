#!/usr/bin/env python3
"""Regenerate the template's locked requirements, one set per lock variant.

    PYENV_VERSION=3.11.7:3.13.0:3.12.1 python3 scripts/lock_template.py [--upgrade] [VARIANT ...]

The generated project's requirements/*.in depend on two answers only (the
Django version and Redis), so the template ships four sets of locks in
``{{cookiecutter.project_slug}}/requirements/_locks/django<5.2|6.1>-<redis|noredis>/``
and the post-generation hook moves the chosen one into requirements/.

For each variant this script bakes the template with the cookiecutter API
(hooks off, so the lock folders stay put), puts the variant's current locks
in place (pip-compile keeps their pins unless ``--upgrade``), runs the baked
project's own ``scripts/requirements.py lock`` and copies production.txt,
deploy.txt (the deploy job's: swarmkit and the docker SDK), test.txt,
local.txt and inputs.sha256 back.

Until swarm-django is on PyPI, the template ships its wheel: this script
builds it from this checkout (hatchling builds it byte for byte the same
each time, as `make dist` does), puts it in each baked project's
requirements/wheels/ (the project's lock step then writes `--find-links
wheels` into the locks) and finally into the template's
requirements/wheels/, replacing the older one. So the locks pin the hash of
the very wheel a generated project carries: re-run this script whenever
swarmkit/, the README or the packaging changes (tests/template/test_locks.py
fails until then).

The locks are resolved on Python 3.12 (they install on 3.12 and 3.13), in
the virtualenv ``.venv-lock`` (created with --python when missing; it holds
pip-tools and cookiecutter). pip's configuration files are ignored, so
machine-wide indexes and constraints do not leak into the locks.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "{{cookiecutter.project_slug}}"
LOCKS = TEMPLATE / "requirements" / "_locks"
VARIANTS = ("django5.2-noredis", "django5.2-redis", "django6.1-noredis", "django6.1-redis")
FILES = ("production.txt", "deploy.txt", "test.txt", "local.txt", "inputs.sha256")
LOCK_PYTHON = (3, 12)
TOOLS = ("pip-tools", "cookiecutter")
WHEELS = TEMPLATE / "requirements" / "wheels"

BAKE = """
import json, sys
from cookiecutter.main import cookiecutter
template, output, context = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(cookiecutter(template, no_input=True, output_dir=output, extra_context=context,
                   accept_hooks=False))
"""


def run(command, **kwargs):
    print("+", " ".join(str(part) for part in command), file=sys.stderr)
    return subprocess.run([str(part) for part in command], check=True, **kwargs)


def lock_env():
    """The environment of pip and pip-compile: no pip config file, no inherited indexes."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for kept in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT"):
        if kept in os.environ:
            env[kept] = os.environ[kept]
    return env


def ensure_venv(venv, python):
    bin_python = venv / "bin" / "python"
    if not bin_python.exists():
        found = shutil.which(python)
        if not found:
            raise SystemExit(
                f"lock_template: {python} not found; the locks are resolved on Python "
                f"{'.'.join(map(str, LOCK_PYTHON))} (with pyenv: "
                "PYENV_VERSION=3.11.7:3.13.0:3.12.1), or pass --python"
            )
        run([found, "-m", "venv", venv])
        run([bin_python, "-m", "pip", "install", "--quiet", "--upgrade", "pip", *TOOLS],
            env=lock_env())  # fmt: skip
    version = subprocess.run(
        [bin_python, "-c", "import sys; print(*sys.version_info[:2])"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    if tuple(map(int, version)) != LOCK_PYTHON:
        raise SystemExit(f"lock_template: {venv} runs Python {'.'.join(version)}, not 3.12")
    return bin_python


def build_wheel(python, wheels):
    run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, REPO], env=lock_env())
    built = sorted(wheels.glob("swarm_django-*.whl"))
    if len(built) != 1:
        raise SystemExit(f"lock_template: expected one swarm-django wheel in {wheels}")
    return built[0]


def ship_wheel(wheel, wheels):
    """``wheel`` alone in the folder ``wheels``: older swarm-django wheels go."""
    wheels.mkdir(parents=True, exist_ok=True)
    for old in wheels.glob("swarm_django-*.whl"):
        if old.name != wheel.name:
            old.unlink()
    shutil.copyfile(wheel, wheels / wheel.name)


def lock_variant(python, variant, work, wheel, upgrade):
    django_version = variant.split("-")[0].removeprefix("django")
    context = {"django_version": django_version, "use_redis": "y" if "-redis" in variant else "n"}
    out = work / variant
    out.mkdir()
    baked = subprocess.run(
        [python, "-c", BAKE, TEMPLATE.parent, out, json.dumps(context)],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    project = Path(baked)
    requirements = project / "requirements"
    current = requirements / "_locks" / variant
    if current.is_dir() and not upgrade:
        for name in FILES:
            if (current / name).is_file():
                shutil.copy2(current / name, requirements / name)
    shutil.rmtree(requirements / "_locks")
    ship_wheel(wheel, requirements / "wheels")
    env = lock_env()
    # swarm-django keeps its version while its wheel changes: pip-compile would
    # keep the recorded hash of an unchanged pin, so that one is always upgraded.
    extra = ["--upgrade"] if upgrade else ["--upgrade-package", "swarm-django"]
    run([python, "scripts/requirements.py", "lock", "--quiet", *extra], cwd=project, env=env)
    run([python, "scripts/requirements.py", "check"], cwd=project)
    target = LOCKS / variant
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy2(requirements / name, target / name)
    print(f"lock_template: wrote {target.relative_to(REPO)}", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "variants", nargs="*", metavar="VARIANT", help=f"only these, of {', '.join(VARIANTS)}"
    )
    parser.add_argument("--upgrade", action="store_true", help="newest versions, not the pins")
    parser.add_argument("--python", default="python3.12", help="interpreter for a new venv")
    parser.add_argument("--venv", type=Path, default=REPO / ".venv-lock", help="%(default)s")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")
    python = ensure_venv(args.venv, args.python)
    with tempfile.TemporaryDirectory(prefix="lock-template-") as tmp:
        work = Path(tmp)
        wheels = work / "wheels"
        wheel = build_wheel(python, wheels)
        print(f"lock_template: pinning {wheel.name}", file=sys.stderr)
        for variant in args.variants or VARIANTS:
            lock_variant(python, variant, work, wheel, args.upgrade)
        ship_wheel(wheel, WHEELS)
        print(f"lock_template: wrote {(WHEELS / wheel.name).relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
