"""Size, rebuild time and start time of the generated project's image; record them.

One run bakes the template (default answers), then builds on the same base
image (``python:3.12-slim-bookworm``) and the same locked requirements
(the project's ``requirements/production.txt``):

- **generated**: the project's ``docker/production/Dockerfile``;
- **listing-4.4**: the source's Listing 4.4 approach: a compile stage with
  build-essential that ``pip-sync``\\s into ``/root/.local`` with ``--user``,
  a runtime stage that adds postgresql-client and copies ``.local`` and the
  code into the home of an ``adduser --system`` user;
- **naive**: one stage with the build tools, the code copied in, then
  ``pip install`` (section 3.1.1's starting point, made to install the same
  requirements).

It reports each image's size, and for the generated one also the floor it
is compared with: the base image plus the venv plus the code (the bytes of
their files, byte code and collected static files included). Then the
generated image's cold build (BuildKit cache pruned, ``--no-cache``)
against a rebuild after a one-line code change, and the time from
``docker run`` to the first 200 from ``/api/alive/`` against a migrated
PostgreSQL container (what a new replica meets in a rolling update), with
and without the entrypoint's locked migrate step.

swarm-django is not on PyPI yet: the checkout's wheel is served to the
builds from a local index on 127.0.0.1 (``--network host``), and the
project is re-locked against it when its lock pins another build.

Needs a running Docker Engine with the stand-in images
(``../shared/e2e/``), and the dev tools of ``make install``. The figures
replace the block between the markers in docs/benchmarks.md.

    python benchmarks/template_image.py [--starts 5] [--no-write]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from doc_blocks import replace_block

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.django.servers import free_port  # noqa: E402
from tests.template import helpers  # noqa: E402

DOCKER = "/usr/bin/docker"  # the engine's own client: BuildKit (see ../shared/e2e/NOTES.md)
BASE = "python:3.12-slim-bookworm"
LABEL = "swarmkit-bench=template-image"

LISTING_4_4 = """\
FROM {base} AS compile-image
ENV PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev
COPY ./requirements requirements
ARG PIP_EXTRA_INDEX_URL
RUN pip install pip-tools
RUN pip-sync --pip-args '--force-reinstall --compile --user --no-warn-script-location' \\
    requirements/production.txt

FROM {base} AS runtime-image
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client
RUN addgroup --system appuser && adduser --system --ingroup appuser appuser
COPY --chown=appuser:appuser --from=compile-image /root/.local /home/appuser/.local
COPY --chown=appuser:appuser . /home/appuser/app
RUN python -m compileall -q /home/appuser/app
ENV PATH=/home/appuser/.local/bin:$PATH PYTHONPATH=/home/appuser/app PYTHONUNBUFFERED=1
USER appuser
WORKDIR /home/appuser/app
CMD ["gunicorn", "-b", "0.0.0.0:8000", "{slug}.wsgi"]
"""

FILE_BYTES = """
import os, sys
for root in sys.argv[1:]:
    seen, total = set(), 0
    for folder, _, names in os.walk(root):
        for name in names:
            info = os.lstat(os.path.join(folder, name))
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    print(total)
"""

NAIVE = """\
FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev
COPY . /app
WORKDIR /app
ARG PIP_EXTRA_INDEX_URL
RUN pip install -r requirements/production.txt
CMD ["gunicorn", "-b", "0.0.0.0:8000", "{slug}.wsgi"]
"""


def docker(*args: str, check: bool = True, timeout: float = 1800) -> str:
    done = subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:3])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def build(project: Path, dockerfile: Path, tag: str, index: str, *extra: str) -> float:
    """Build with BuildKit; returns the wall time in seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [DOCKER, "build", "--network", "host", "-f", str(dockerfile), "-t", tag,
         "--label", LABEL, "--build-arg", f"PIP_EXTRA_INDEX_URL={index}", *extra, "."],
        cwd=project, env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"building {tag} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return elapsed


def size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image))


@contextmanager
def wheel_index(wheel: Path) -> Iterator[str]:
    """A PEP 503 simple index on 127.0.0.1 that serves only ``wheel``."""
    root = Path(tempfile.mkdtemp(prefix="swarmkit-index-"))
    project = root / "simple" / "swarm-django"
    project.mkdir(parents=True)
    shutil.copy(wheel, project / wheel.name)
    (project / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n')
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        shutil.rmtree(root, ignore_errors=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def first_alive(image: str, env: dict[str, str], network: str | None) -> float:
    """Seconds from ``docker run`` to the first 200 from /api/alive/ on a published port."""
    port = free_port()
    args = ["run", "-d", "--rm", "--label", LABEL, "-p", f"127.0.0.1:{port}:8000"]
    if network:
        args += ["--network", network]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    url = f"http://127.0.0.1:{port}/api/alive/"
    started = time.monotonic()
    container = docker(*args, image)
    try:
        while time.monotonic() - started < 60:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        raise SystemExit(f"{image} never answered alive:\n{docker('logs', container, check=False)}")
    finally:
        docker("rm", "-f", container, check=False)


def prepare_project(work: Path) -> tuple[Path, Path]:
    """Bake the default project and make its lock pin the checkout's wheel."""
    config = helpers.cookiecutter_config(work / "cookiecutter")
    project = helpers.bake(work / "bake", config, {})
    wheel = helpers.build_swarm_django_wheel(work / "wheels")
    if not helpers.lock_is_current(project, wheel):
        python = helpers.find_python("3.12")
        if python is None:
            raise SystemExit("no Python 3.12 to re-lock the project with")
        venv = helpers.tools_venv(python, "3.12")
        helpers.ship_wheel(project, wheel)
        env = helpers.venv_env(venv, PIP_FIND_LINKS=helpers.find_links(wheel.parent))
        helpers.check(
            helpers.requirements_script(
                project, str(venv / "bin" / "python"), "lock", env, *helpers.RELOCK
            )
        )
    return project, wheel


def cleanup() -> None:
    for container in docker("ps", "-aq", "--filter", f"label={LABEL}").split():
        docker("rm", "-f", container, check=False)
    for network in docker("network", "ls", "-q", "--filter", f"label={LABEL}").split():
        docker("network", "rm", network, check=False)
    for image in docker("images", "-q", "--filter", f"label={LABEL}").split():
        docker("rmi", "-f", image, check=False)


def measure(work: Path, starts: int) -> dict[str, object]:
    project, wheel = prepare_project(work)
    slug = project.name
    listing = work / "Dockerfile.listing-4.4"
    naive = work / "Dockerfile.naive"
    listing.write_text(LISTING_4_4.format(base=BASE, slug=slug))
    naive.write_text(NAIVE.format(base=BASE, slug=slug))
    generated = project / "docker" / "production" / "Dockerfile"
    results: dict[str, object] = {"base": size(BASE)}
    with wheel_index(wheel) as index:
        secret = work / "pip_index_url"
        secret.write_text(index)
        secret_args = ("--secret", f"id=pip_index_url,src={secret}")
        # Cold: no BuildKit cache at all (this also empties pip's cache mount).
        docker("builder", "prune", "-af")
        results["cold"] = build(project, generated, "bench/generated:cold", index,
                                "--no-cache", *secret_args)  # fmt: skip
        views = project / "visits" / "views.py"
        views.write_text(views.read_text() + "\n# a code-only change\n")
        results["rebuild"] = build(project, generated, "bench/generated:rebuild", index,
                                   *secret_args)  # fmt: skip
        build(project, listing, "bench/listing-4.4", index)
        build(project, naive, "bench/naive", index)
    results["generated"] = size("bench/generated:rebuild")
    results["listing-4.4"] = size("bench/listing-4.4")
    results["naive"] = size("bench/naive")
    # File bytes (each inode once): what the venv and the code weigh, without
    # the directory entries `du` would add.
    sizes = docker("run", "--rm", "--label", LABEL, "--entrypoint", "python",
                   "bench/generated:rebuild", "-c", FILE_BYTES, "/opt/venv", "/app")  # fmt: skip
    results["venv"], results["app"] = (int(line) for line in sizes.splitlines())
    results["starts"] = start_times("bench/generated:rebuild", slug, starts)
    return results


def start_times(image: str, slug: str, starts: int) -> dict[str, list[float]]:
    """Container starts against a migrated PostgreSQL, with and without the migrate step.

    Alive turns 200 once the container has been ready (database reachable), so
    every start needs the database, as a new replica in a rolling update has it.
    """
    env = {"SECRET_KEY": "bench-" + "k" * 50, "DJANGO_ALLOWED_HOSTS": "localhost",
           "CRON_API_KEY": "c" * 40,
           "DATABASE_URI": f"postgresql://{slug}:bench@db:5432/{slug}"}  # fmt: skip
    times: dict[str, list[float]] = {"no-migrate": [], "migrate": []}
    network = f"bench-template-{int(time.time())}"
    docker("network", "create", "--label", LABEL, network)
    db = docker("run", "-d", "--rm", "--label", LABEL, "--network", network,
                "--network-alias", "db", "-e", f"POSTGRES_USER={slug}", "-e", f"POSTGRES_DB={slug}",
                "-e", "POSTGRES_PASSWORD=bench", "postgres:15-bookworm")  # fmt: skip
    try:
        wait_for_postgres(db, slug)
        first_alive(image, env, network)  # migrates the empty database once
        for _ in range(starts):
            times["no-migrate"].append(first_alive(image, dict(env, MIGRATE_ON_START="0"), network))
            times["migrate"].append(first_alive(image, env, network))
    finally:
        docker("rm", "-f", db, check=False)
        docker("network", "rm", network, check=False)
    return times


def wait_for_postgres(container: str, slug: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = subprocess.run(
            [DOCKER, "exec", container, "pg_isready", "-U", slug, "-h", "127.0.0.1"],
            capture_output=True, check=False,
        )  # fmt: skip
        if done.returncode == 0:
            return
        time.sleep(0.5)
    raise SystemExit("the PostgreSQL container did not start")


def mb(size_bytes: float) -> str:
    return f"{size_bytes / 1e6:.1f} MB"


def render(results: dict[str, object], starts: int) -> str:
    base, venv, app = (int(results[k]) for k in ("base", "venv", "app"))  # type: ignore[call-overload]
    generated = int(results["generated"])  # type: ignore[call-overload]
    floor = base + venv + app
    cold, rebuild = float(results["cold"]), float(results["rebuild"])  # type: ignore[arg-type]
    times: dict[str, list[float]] = results["starts"]  # type: ignore[assignment]
    engine = docker("version", "--format", "{{.Server.Version}}")
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, Docker Engine {engine} "
        f"(BuildKit), base `{BASE}`, the default project's production.txt, one run.",
        "",
        "| image | size |",
        "|---|---|",
        f"| base image | {mb(base)} |",
        f"| generated Dockerfile | {mb(generated)} |",
        f"| base + venv ({mb(venv)}) + app ({mb(app)}) | {mb(floor)} |",
        f"| generated minus (base + venv + app) | {(generated - floor) / 1e3:.0f} kB "
        "(target < 5 MB) |",
        f"| source's Listing 4.4 | {mb(int(results['listing-4.4']))} |",  # type: ignore[call-overload]
        f"| naive single stage | {mb(int(results['naive']))} |",  # type: ignore[call-overload]
        "",
        "| build of the generated image | seconds |",
        "|---|---|",
        f"| cold (BuildKit cache pruned, `--no-cache`) | {cold:.1f} |",
        f"| after a one-line code change | {rebuild:.1f} ({100 * rebuild / cold:.1f}% of cold; "
        "target < 10%) |",
        "",
        f"| `docker run` to the first 200 from /api/alive/ (median of {starts}) | seconds |",
        "|---|---|",
        "| `MIGRATE_ON_START=0` (schema up to date) | "
        f"{statistics.median(times['no-migrate']):.2f} "
        f"(max {max(times['no-migrate']):.2f}) |",
        f"| entrypoint runs `migrate_locked` (nothing to apply) | "
        f"{statistics.median(times['migrate']):.2f} (max {max(times['migrate']):.2f}; "
        "target < 5) |",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="container starts to time")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the docs")
    options = parser.parse_args()
    cleanup()
    work = Path(tempfile.mkdtemp(prefix="swarmkit-bench-image-"))
    try:
        results = measure(work, options.starts)
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)
    block = render(results, options.starts)
    print(block)
    print(json.dumps(results, indent=1))
    if not options.no_write:
        replace_block("template-image", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
