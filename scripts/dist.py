#!/usr/bin/env python3
"""Build the release files of swarm-django and check them (``make dist``).

    python scripts/dist.py [--outdir dist]

1. Builds the sdist and the wheel with ``python -m build`` (the pinned
   hatchling of pyproject.toml) into ``--outdir``.
2. Builds both again in a temporary folder and compares them byte for byte:
   the release must be reproducible, since the template's locks pin the
   wheel's hash before the wheel is ever uploaded.
3. Checks that the wheel is the one the template ships
   (``{{cookiecutter.project_slug}}/requirements/wheels/``) and that every
   shipped lock pins its hash: otherwise run ``make template-lock``.
4. Runs ``twine check --strict`` on both files.

SOURCE_DATE_EPOCH is removed from the build's environment: hatchling then
stamps every file with its fixed date, so the bytes depend on the sources
only, not on the day or the commit time of the build.

Exit codes: 0 all checks passed, 1 a check failed, 2 a tool is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "{{cookiecutter.project_slug}}"
SHIPPED = TEMPLATE / "requirements" / "wheels"
LOCKS = TEMPLATE / "requirements" / "_locks"
PIN = re.compile(
    r"^swarm-django==(?P<version>\S+)((?:\s*\\\n\s*--hash=sha256:[0-9a-f]{64})+)", re.M
)


class DistError(Exception):
    """A failed check: one line saying what to do."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(outdir: Path) -> dict[str, Path]:
    """``{"sdist": path, "wheel": path}``, built from this checkout into ``outdir``."""
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in [*outdir.glob("swarm_django-*.whl"), *outdir.glob("swarm_django-*.tar.gz")]:
        stale.unlink()
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(outdir), str(REPO)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise DistError("python -m build failed (output above)")
    wheels = sorted(outdir.glob("swarm_django-*.whl"))
    sdists = sorted(outdir.glob("swarm_django-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise DistError(f"expected one wheel and one sdist in {outdir}")
    return {"sdist": sdists[0], "wheel": wheels[0]}


def check_reproducible(first: dict[str, Path]) -> None:
    with tempfile.TemporaryDirectory(prefix="swarmkit-dist-") as tmp:
        second = build(Path(tmp))
        for kind, path in first.items():
            if sha256(path) != sha256(second[kind]):
                raise DistError(
                    f"the {kind} {path.name} is not reproducible: a second build differs "
                    "(a file with a timestamp or an untracked file in the package?)"
                )


def check_shipped(wheel: Path) -> None:
    """The template ships this wheel and its locks pin its hash."""
    digest = sha256(wheel)
    shipped = SHIPPED / wheel.name
    if not shipped.is_file() or sha256(shipped) != digest:
        raise DistError(
            f"{shipped.relative_to(REPO)} is not this build's wheel: run `make template-lock`"
        )
    for lock in sorted(LOCKS.glob("*/*.txt")):
        match = PIN.search(lock.read_text(encoding="utf-8"))
        if match is None:
            raise DistError(f"{lock.relative_to(REPO)} does not pin swarm-django")
        hashes = set(re.findall(r"sha256:([0-9a-f]{64})", match.group(0)))
        if hashes != {digest}:
            raise DistError(
                f"{lock.relative_to(REPO)} pins another swarm-django wheel: "
                "run `make template-lock`"
            )


def twine_check(files: list[Path]) -> None:
    if not _has_module("twine"):
        raise OSError("twine is not installed: make install")
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise DistError("twine check failed (output above)")


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", type=Path, default=REPO / "dist", help="%(default)s")
    args = parser.parse_args(argv)
    try:
        if not _has_module("build"):
            raise OSError("the `build` package is not installed: make install")
        built = build(args.outdir)
        check_reproducible(built)
        check_shipped(built["wheel"])
        twine_check(list(built.values()))
    except OSError as exc:
        print(f"dist: {exc}", file=sys.stderr)
        return 2
    except DistError as exc:
        print(f"dist: {exc}", file=sys.stderr)
        return 1
    for path in built.values():
        print(f"{sha256(path)}  {path}")
    print("dist: reproducible, shipped by the template, pinned by its locks, twine check passed",
          file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
