#!/usr/bin/env python3
"""Lock the requirements, and check offline that the locks are up to date.

    python scripts/requirements.py lock [PIP-COMPILE OPTIONS]   # make lock
    python scripts/requirements.py check                       # make check-locks

``lock`` compiles requirements/production.in, deploy.in, test.in and
local.in, in that order (the others are constrained by production.txt), with
pip-compile into .txt files that pin every package with its hashes, then
records the sha256 of every .in file in requirements/inputs.sha256. Options after
``lock`` go to pip-compile: ``--upgrade``, ``--upgrade-package django``.

Wheels the project ships itself live in requirements/wheels/ (the template
puts the swarm-django wheel there until that version is on PyPI): ``lock``
lets pip-compile find them and writes ``--find-links wheels`` at the top of
every .txt file, a path pip takes relative to that file, so ``pip install
--require-hashes -r requirements/<name>.txt`` finds them in the Dockerfiles
and in CI with no package index, still checked by their hashes. With no
wheel there, no such line is written.

``check`` needs no network: it fails when a .in file changed since the last
``lock``, a .txt file is missing, or a requirement in a .txt file is not
pinned with ``==`` and ``--hash``. ``sha256sum -c inputs.sha256``, run in
requirements/, checks the recorded hashes the same way.

Exit codes: 0 fine, 1 a check failed or pip-compile failed, 2 bad usage or
nothing to work on. Standard library only.
"""

import argparse
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

# Compiled in this order: the later files are constrained by the earlier ones.
# deploy.txt is what CI's deploy job installs (swarmkit and the docker SDK).
TARGETS = ("production", "deploy", "test", "local")
# Included by the others (-r common.in), never compiled on its own.
INCLUDED = ("common",)
RECORD = "inputs.sha256"
COMPILE_OPTIONS = (
    "--generate-hashes",
    "--allow-unsafe",
    "--strip-extras",
    # Never write index URLs (they may carry credentials) or local paths into the locks.
    "--no-emit-index-url",
    "--no-emit-trusted-host",
    "--no-emit-find-links",
)
# The project's own wheels, beside the .txt files; pip resolves a relative
# --find-links in a requirements file against that file's directory.
WHEELS = "wheels"
FIND_LINKS = f"--find-links {WHEELS}"
FIND_LINKS_NOTE = "# The wheels in requirements/wheels/ (see its README.md), checked by their hashes.\n"
REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*==\s*[^\s;]+")


class CheckError(Exception):
    """A check that failed: one line, naming the file."""


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs(requirements):
    return [requirements / f"{name}.in" for name in (*INCLUDED, *TARGETS)]


def read_record(path):
    """``{file name: sha256}`` from a file in ``sha256sum`` format."""
    recorded = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or not name:
            raise CheckError(f"{path}:{number}: not a 'sha256  file' line; run `make lock`")
        recorded[name.strip()] = digest
    return recorded


def logical_lines(path):
    """``(line number, text)`` per requirement or option, continuations joined."""
    pending, start = "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text:
            yield start, text


def check_lock(path):
    if not path.is_file():
        raise CheckError(f"{path}: missing; run `make lock`")
    found = 0
    finds_wheels = False
    for number, text in logical_lines(path):
        if text.startswith(("-e ", "--editable")):
            raise CheckError(f"{path}:{number}: editable requirement cannot be pinned with hashes")
        if text.startswith(("--find-links", "-f ")):
            if text != FIND_LINKS or not shipped_wheels(path.parent):
                raise CheckError(
                    f"{path}:{number}: only `{FIND_LINKS}` is allowed here, and only with "
                    f"wheels in {path.parent / WHEELS}; run `make lock`"
                )
            finds_wheels = True
            continue
        if text.startswith("-"):
            continue  # an option line (--index-url, --no-binary ...)
        name = (re.match(r"[^\s=<>!~;\[@]+", text) or re.match(r"\S+", text)).group()
        if not REQUIREMENT.match(text):
            raise CheckError(f"{path}:{number}: {name} is not pinned with ==; run `make lock`")
        if "--hash=" not in text:
            raise CheckError(f"{path}:{number}: {name} has no --hash; run `make lock`")
        found += 1
    if not found:
        raise CheckError(f"{path}: no requirements in it; run `make lock`")
    if shipped_wheels(path.parent) and not finds_wheels:
        raise CheckError(
            f"{path}: does not say `{FIND_LINKS}`, so pip cannot find the wheels in "
            f"{path.parent / WHEELS}; run `make lock`"
        )


def shipped_wheels(requirements):
    """The wheels in requirements/wheels/, sorted (none when there is no such folder)."""
    return sorted((requirements / WHEELS).glob("*.whl"))


def add_find_links(lock_file):
    """Write ``--find-links wheels`` after the pip-compile header of ``lock_file``."""
    lines = lock_file.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [line for line in lines if line.strip() not in (FIND_LINKS, FIND_LINKS_NOTE.strip())]
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        header += 1
    lines[header:header] = [FIND_LINKS_NOTE, FIND_LINKS + "\n", "\n"]
    lock_file.write_text("".join(lines), encoding="utf-8")


def check(requirements):
    """Every problem found, one line each (an empty list when all is fine)."""
    problems = []
    record = requirements / RECORD
    recorded = None
    if not record.is_file():
        problems.append(f"{record}: missing; run `make lock`")
    else:
        try:
            recorded = read_record(record)
        except CheckError as exc:
            problems.append(str(exc))
    for source in inputs(requirements):
        if not source.is_file():
            problems.append(f"{source}: missing")
        elif recorded is None:
            continue
        elif source.name not in recorded:
            problems.append(f"{source}: not recorded in {record}; run `make lock`")
        elif sha256(source) != recorded[source.name]:
            problems.append(
                f"{source}: changed since the requirements were locked; run `make lock`"
            )
    for name in TARGETS:
        try:
            check_lock(requirements / f"{name}.txt")
        except CheckError as exc:
            problems.append(str(exc))
    return problems


def lock(root, requirements, extra):
    if importlib.util.find_spec("piptools") is None:
        print(
            "requirements: pip-tools is not installed here: pip install -r requirements/local.txt",
            file=sys.stderr,
        )
        return 2
    for source in inputs(requirements):
        if not source.is_file():
            print(f"requirements: {source} is missing", file=sys.stderr)
            return 2
    wheels = shipped_wheels(requirements)
    # pip-compile must not write this path itself (it would write it absolute).
    find_links = [f"--find-links={(requirements / WHEELS).relative_to(root)}"] if wheels else []
    for name in TARGETS:
        source = (requirements / f"{name}.in").relative_to(root)
        output = (requirements / f"{name}.txt").relative_to(root)
        command = [
            sys.executable,
            "-m",
            "piptools",
            "compile",
            *COMPILE_OPTIONS,
            *find_links,
            f"--output-file={output}",
            *extra,
            str(source),
        ]
        print(f"requirements: compiling {output}", file=sys.stderr)
        # The header of each .txt file says how to recompile it.
        env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "make lock"}
        done = subprocess.run(command, cwd=root, env=env, check=False)
        if done.returncode != 0:
            print(f"requirements: pip-compile failed for {source}", file=sys.stderr)
            return 1
        if wheels:
            add_find_links(root / output)
    lines = [f"{sha256(source)}  {source.name}\n" for source in inputs(requirements)]
    (requirements / RECORD).write_text("".join(lines), encoding="utf-8")
    print(f"requirements: recorded the .in hashes in {requirements / RECORD}", file=sys.stderr)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the project directory, which holds requirements/ (default: this script's project)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lock", help="recompile the .txt files and record the .in hashes")
    commands.add_parser("check", help="fail when the .txt files are stale or not hashed")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lock":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    root = args.root.resolve()
    requirements = root / "requirements"
    if not requirements.is_dir():
        print(f"requirements: {requirements} is not a directory", file=sys.stderr)
        return 2
    if args.command == "lock":
        return lock(root, requirements, extra)
    problems = check(Path(os.path.relpath(requirements)))
    for problem in problems:
        print(f"requirements: {problem}", file=sys.stderr)
    if not problems:
        print("requirements: the locks are up to date", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
