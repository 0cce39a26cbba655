"""Harness of the template tests: bake projects, find tools and Pythons, lock, install.

Everything runs for real: cookiecutter renders the template in this checkout,
pip-compile and pip talk to real package indexes, the projects' own scripts
and test suites run in their own virtual environments. A tool that is missing
skips the tests that need it on a developer machine and fails them under
``CI=true``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
import zipfile
from base64 import urlsafe_b64encode
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "{{cookiecutter.project_slug}}"
CONTEXT: dict[str, Any] = json.loads((REPO / "cookiecutter.json").read_text())
OPTIONS = ("python_version", "django_version", "postgresql_version", "use_redis", "use_cron")
CHOICES: dict[str, tuple[str, ...]] = {name: tuple(CONTEXT[name]) for name in OPTIONS}
SLUG = "acme_shop"  # what the default project name gives
# Survives between runs: the projects' virtual environments (pip keeps its own cache).
CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "swarm-django"
    / "template-tests"
)
LABEL = "swarmkit-test=template"  # on every image, container and network the suite creates


@dataclass(frozen=True)
class Combo:
    """One answer per option of cookiecutter.json; the other variables keep their defaults."""

    python_version: str
    django_version: str
    postgresql_version: str
    use_redis: str
    use_cron: str

    @property
    def redis(self) -> bool:
        return self.use_redis == "y"

    @property
    def cron(self) -> bool:
        return self.use_cron == "y"

    @property
    def id(self) -> str:
        return "-".join([
            f"py{self.python_version}",
            f"dj{self.django_version}",
            f"pg{self.postgresql_version}",
            "redis" if self.redis else "noredis",
            "cron" if self.cron else "nocron",
        ])  # fmt: skip

    @property
    def lock_variant(self) -> str:
        return f"django{self.django_version}-{'redis' if self.redis else 'noredis'}"

    def context(self) -> dict[str, str]:
        return asdict(self)


ALL_COMBOS = [Combo(*values) for values in itertools.product(*(CHOICES[o] for o in OPTIONS))]
DEFAULT_COMBO = Combo(*(CHOICES[o][0] for o in OPTIONS))


def pairwise_combos() -> list[Combo]:
    """A few combinations with each value of each option, and each Python x Django pair.

    Also each use_redis x use_cron pair, hence each locked requirements variant.
    The first one is the default answer set, what a new user gets.
    """
    py_dj = list(itertools.product(CHOICES["python_version"], CHOICES["django_version"]))
    redis_cron = list(itertools.product(CHOICES["use_redis"], CHOICES["use_cron"]))
    postgres = CHOICES["postgresql_version"]
    count = max(len(py_dj), len(redis_cron), len(postgres))
    return [
        Combo(*py_dj[i % len(py_dj)], postgres[i % len(postgres)], *redis_cron[i % len(redis_cron)])
        for i in range(count)
    ]


# A second look at the rendering: answers unlike the defaults, non-ASCII included.
CUSTOM_ANSWERS = {
    "project_name": "Café Órbita",
    "project_slug": "cafe_orbita",
    "description": "Pão & café: \"quoted\" and 'single' text",
    "author_name": "Zoë O'Hara",
    "author_email": "ops@orbita.example.org",
    "domain_name": "orbita.example.org",
    "registry_image": "registry.example.org:5000/team/cafe-orbita",
}


class Bakes:
    """Each combination baked at most once per session, when a test first asks for it.

    Lazily, so that a subset (``pytest tests/template/test_image.py``) bakes
    only what it uses; ``all()`` bakes the rest. A failed bake is kept as its
    traceback and fails each test that asks for that project. Bake from the
    main thread only: cookiecutter changes the working directory for its hooks.
    """

    def __init__(self, root: Path, config: Path) -> None:
        self.root = root
        self.config = config
        self.projects: dict[Combo, Path] = {}
        self.errors: dict[Combo, str] = {}
        self._custom: Path | None = None
        self._custom_error = ""
        self._custom_tried = False

    def _bake(self, combo: Combo) -> None:
        if combo in self.projects or combo in self.errors:
            return
        try:
            self.projects[combo] = bake(self.root / combo.id, self.config, combo.context())
        except Exception:
            self.errors[combo] = traceback.format_exc()

    def project(self, combo: Combo) -> Path:
        self._bake(combo)
        if combo in self.errors:
            pytest.fail(f"{combo.id} did not bake:\n{self.errors[combo]}")
        return self.projects[combo]

    def _bake_custom(self) -> None:
        if self._custom_tried:
            return
        self._custom_tried = True
        try:
            answers = {**DEFAULT_COMBO.context(), **CUSTOM_ANSWERS}
            self._custom = bake(self.root / "custom", self.config, answers)
        except Exception:
            self._custom_error = traceback.format_exc()

    @property
    def custom(self) -> Path | None:
        """The project of ``CUSTOM_ANSWERS``, or None when it did not bake."""
        self._bake_custom()
        return self._custom

    @property
    def custom_error(self) -> str:
        self._bake_custom()
        return self._custom_error

    def all(self) -> list[Path]:
        """Every project that baked, the custom one included (every combination is baked)."""
        for combo in ALL_COMBOS:
            self._bake(combo)
        baked = [self.projects[combo] for combo in ALL_COMBOS if combo in self.projects]
        return [*baked, *([self.custom] if self.custom else [])]


@dataclass
class Installed:
    """A heavy project: a copy of its bake, re-locked if needed, and its venv."""

    project: Path
    venv: Path
    relocked: bool

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


# -- skipping and running ---------------------------------------------------------------


def unavailable(message: str) -> NoReturn:
    """Skip, or fail under ``CI=true``, where the CI must have everything."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str, hint: str) -> str:
    """The path of a command: from this interpreter's bin directory first, then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed ({hint})")
    return found


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; never raises on a non-zero exit."""
    return subprocess.run(
        [os.fspath(a) for a in args],
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=input,
    )


def output(done: subprocess.CompletedProcess[str]) -> str:
    """A command line, its exit status and its output, for an assertion message."""
    command = " ".join(str(a) for a in done.args)
    return f"$ {command}\nexit {done.returncode}\n{done.stdout}{done.stderr}"


def check(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, output(done)
    return done


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what configures the repo's own test project."""
    dropped = ("DJANGO_", "PYTEST_", "SWARMKIT_", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(dropped)
        and key not in {"PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URI", "SECRET_KEY", "REDIS_URL"}
    }
    env.update(extra)
    return env


def venv_env(venv: Path, **extra: str) -> dict[str, str]:
    """``clean_env`` with ``venv`` activated."""
    env = clean_env(**extra)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def find_links(*dirs: Path) -> str:
    """``PIP_FIND_LINKS`` with ``dirs`` first, then what the machine already set."""
    return " ".join([*(str(d) for d in dirs), os.environ.get("PIP_FIND_LINKS", "")]).strip()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``: two test runs never build one venv at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- baking -----------------------------------------------------------------------------


def cookiecutter_config(directory: Path) -> Path:
    """A user config that keeps cookiecutter's replay files out of the home directory."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(directory / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(directory / 'replay'))}\n"
    )
    return config


def bake(output_dir: Path, config: Path, answers: Mapping[str, str]) -> Path:
    """Generate a project from this checkout's template; returns its directory."""
    from cookiecutter.main import cookiecutter

    output_dir.mkdir(parents=True, exist_ok=True)
    return Path(
        cookiecutter(
            str(REPO),
            no_input=True,
            extra_context=dict(answers),
            output_dir=str(output_dir),
            config_file=str(config),
        )
    )


def project_files(project: Path) -> list[Path]:
    """Every file of a baked project (none are ignored: a fresh bake has no caches)."""
    return sorted(p for p in project.rglob("*") if p.is_file())


def is_shell_script(path: Path) -> bool:
    if path.suffix == ".sh":
        return True
    with open(path, "rb") as handle:
        first = handle.readline(200)
    return re.match(rb"#!\s*/(usr/)?bin/(env\s+)?(ba|da)?sh\b", first) is not None


# -- wheels and locks -------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_swarm_django_wheel(dest: Path) -> Path:
    """The checkout's ``swarm-django`` wheel, as the projects' locks pin it."""
    dest.mkdir(parents=True, exist_ok=True)
    # Without SOURCE_DATE_EPOCH hatchling stamps its fixed date: the bytes of scripts/dist.py.
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    check(run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dest, REPO],
              env=env))  # fmt: skip
    (wheel,) = dest.glob("swarm_django-*.whl")
    return wheel


def write_wheel(dest: Path, name: str, version: str, modules: Mapping[str, str]) -> Path:
    """A pure-Python wheel with ``modules`` (path -> source), byte-for-byte reproducible."""
    dest.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = dict(modules)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: swarmkit-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, text in files.items():
        digest = urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = dest / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            entry = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, text)
    return wheel


_CONTINUATION = re.compile(r"\\\n")


def pins(lock: Path) -> dict[str, tuple[str, set[str]]]:
    """``name -> (version, sha256 hashes)`` of a pip-compile output file."""
    found: dict[str, tuple[str, set[str]]] = {}
    for line in _CONTINUATION.sub(" ", lock.read_text()).splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)(.*)$", line)
        if match:
            name = re.sub(r"[-_.]+", "-", match[1]).lower()
            found[name] = (match[3], set(re.findall(r"--hash=sha256:([0-9a-f]{64})", match[4])))
    return found


def logical_requirements(lock: Path, *, options: bool = False) -> list[str]:
    """Every requirement of a lock, one string each (continuations joined; no comments).

    Option lines (``--find-links wheels``) too when ``options``.
    """
    lines = [line.split(" #", 1)[0].strip()
             for line in _CONTINUATION.sub(" ", lock.read_text()).splitlines()]  # fmt: skip
    kept = [line for line in lines if line and not line.startswith("#")]
    return kept if options else [line for line in kept if not line.startswith("-")]


def locks(project: Path) -> list[Path]:
    return sorted((project / "requirements").glob("*.txt"))


def lock_is_current(project: Path, wheel: Path) -> bool:
    """Whether every lock of ``project`` pins ``swarm-django`` with this wheel's hash.

    And the project ships that very wheel in requirements/wheels/.
    """
    digest = sha256(wheel)
    shipped = project / "requirements" / "wheels" / wheel.name
    if not shipped.is_file() or sha256(shipped) != digest:
        return False
    entries = [pins(lock).get("swarm-django") for lock in locks(project)]
    return all(entry is not None and digest in entry[1] for entry in entries)


def ship_wheel(project: Path, wheel: Path) -> None:
    """``wheel`` in the project's requirements/wheels/, replacing the swarm-django it had.

    What ``make template-lock`` does to the template, before a re-lock.
    """
    wheels = project / "requirements" / "wheels"
    for old in wheels.glob("swarm_django-*.whl"):
        old.unlink()
    shutil.copyfile(wheel, wheels / wheel.name)


def requirements_script(
    project: Path, python: str, command: str, env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``python scripts/requirements.py <command> [args]`` in the project, as ``make`` runs it."""
    return run([python, "scripts/requirements.py", command, *args], cwd=project, env=env,
               timeout=900)  # fmt: skip


# pip-compile reuses the hashes of an unchanged pin from the existing lock; the
# checkout's swarm-django keeps its version while its wheel changes.
RELOCK = ("--upgrade-package", "swarm-django")


# -- Pythons and virtual environments ---------------------------------------------------


def find_python(version: str) -> str | None:
    """An interpreter ``version`` (``3.12``), also one pyenv has but has not activated."""
    env = dict(os.environ)
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        installed = run([pyenv, "versions", "--bare"]).stdout.split()
        wanted = [v for v in installed if v == version or v.startswith(version + ".")]
        active = env.get("PYENV_VERSION", "").split(":")
        env["PYENV_VERSION"] = ":".join(v for v in [*active, *wanted] if v)
    for name in (f"python{version}", "python3"):
        path = shutil.which(name, path=env.get("PATH"))
        if path is None:
            continue
        probe = run(
            [
                path,
                "-c",
                "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])",
            ],
            env=env,
        )
        if probe.returncode == 0:
            executable, found = probe.stdout.split()
            if found == version:
                return executable
    return None


def python_for(version: str) -> str:
    found = find_python(version)
    if found is None:
        unavailable(f"no Python {version} on this machine (install it, e.g. with pyenv)")
    return found


def project_venv(
    python: str, project: Path, name: str, env: Mapping[str, str], requirements: str = "test.txt"
) -> Path:
    """A venv with the project's ``requirements/<requirements>``, installed ``--require-hashes``.

    Kept in ``CACHE`` between runs and rebuilt only when the interpreter or the
    lock changes; ``name`` is the slot (one per Python x Django pair, say).
    """
    lock = project / "requirements" / requirements
    key = hashlib.sha256(f"{python}\n".encode() + lock.read_bytes()).hexdigest()
    venv = CACHE / "venvs" / name
    stamp = venv / ".swarmkit-test-lock-sha256"
    with file_lock(CACHE / "venvs" / f"{name}.lock"):
        if stamp.exists() and stamp.read_text() == key:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        # Without its own pip (seeding one costs seconds per venv): this
        # interpreter's pip installs into it, as the image's compile stage does.
        check(run([python, "-m", "venv", "--without-pip", venv]))
        install = run(
            [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
             "--quiet", "--require-hashes", "-r", lock],
            cwd=project,
            env=env,
            timeout=900,
        )  # fmt: skip
        if install.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
        check(install)
        stamp.write_text(key)
    return venv


def tools_venv(python: str, version: str) -> Path:
    """A venv of ``python`` with pip-tools: what runs the projects' ``make lock``.

    The projects' own local.txt pins pip-tools too, but a stale lock cannot be
    installed with ``--require-hashes`` (that is why it is re-locked).
    """
    venv = CACHE / "venvs" / f"py{version}-pip-tools"
    stamp = venv / ".swarmkit-test-tools"
    with file_lock(CACHE / "venvs" / f"py{version}-pip-tools.lock"):
        if stamp.exists() and stamp.read_text() == python:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        check(run([python, "-m", "venv", venv]))
        install = run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "pip-tools"],
                      env=clean_env(), timeout=600)  # fmt: skip
        if install.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
        check(install)
        stamp.write_text(python)
    return venv
