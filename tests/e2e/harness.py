"""What the end-to-end suite drives: the engine, the stack's objects, a client under load.

Everything the suite creates is the stack ``e2e_shop_staging`` (its services,
networks, configs and volumes carry Swarm's stack label), external secrets
and images labelled ``swarmkit-test=e2e``, and the node label ``e2e_shop.db``.
:func:`cleanup` removes all of it; the suite calls it first (an earlier run
may have been interrupted) and last.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.template.servers import DOCKER

PROJECT_NAME = "E2E Shop"
SLUG = "e2e_shop"
ENVIRONMENT = "staging"
STACK = f"{SLUG}_{ENVIRONMENT}"
HOST = "staging.example.com"  # DJANGO_ALLOWED_HOSTS of the staging overlay
LABEL = "swarmkit-test=e2e"
IMAGE = "swarmkit-e2e/e2e-shop"
NAMESPACE = "com.docker.stack.namespace"

# Test-only overlay, over the generated project's own files. This kernel has
# no IPVS: services are reached through their tasks' addresses (dnsrr), and
# the proxy's ports are already published in host mode by the project. Short
# healthcheck intervals and update monitors keep the suite quick (the update
# delays stay: the proxy must re-resolve the app between two tasks); the
# nginx image is the local stand-in (no registry is reachable). The backup
# runs every few seconds.
OVERLAY = """\
version: "3.8"
services:
  app:
    healthcheck: {interval: 2s, timeout: 3s, retries: 3, start_period: 20s}
    deploy:
      endpoint_mode: dnsrr
      update_config: {monitor: 5s}
      rollback_config: {monitor: 5s}
  proxy:
    image: nginx:1.22-bookworm
    healthcheck: {interval: 2s, timeout: 3s, start_period: 5s}
    deploy:
      endpoint_mode: dnsrr
      update_config: {delay: 1s, monitor: 3s}
  db:
    # The stand-in's entrypoint always starts the server and takes server
    # options only, not the official image's "postgres" command word.
    command: ["-c", "log_min_messages=warning"]
    healthcheck: {interval: 2s, start_period: 60s}
    deploy: {endpoint_mode: dnsrr}
  scheduler:
    deploy: {endpoint_mode: dnsrr}
  backup:
    environment: {BACKUP_INTERVAL: "5", BACKUP_RETRY: "2"}
    deploy: {endpoint_mode: dnsrr}
  db-roles:
    healthcheck: {interval: 2s}
    deploy: {endpoint_mode: dnsrr}
"""
OVERLAY_FILE = "deploy/stack.e2e.yml"
# The app's healthcheck budget in the overlay: start_period + retries x (interval + timeout).
HEALTHCHECK_BUDGET = 20 + 3 * (2 + 3)

# A job every three seconds that records its slot through the app's own model.
CRON_JOB = '''

import time as _time  # noqa: E402 - appended to the module, as a team adds a job


@cron_job("* * * * * */3", lease=4)
def e2e_tick(run: RunContext) -> None:
    """The end-to-end suite's job: one visit row per slot, then a short nap."""
    Visit.objects.create(path=f"cron:{run.slot.isoformat()}")
    _time.sleep(1.5)
'''

BROKEN_MIGRATION = """\
from django.db import migrations


def fail(apps, schema_editor):
    raise RuntimeError("e2e: this release's migration is broken")


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial")]
    operations = [migrations.RunPython(fail, migrations.RunPython.noop)]
"""

FIGURES: dict[str, str] = {}
"""What the suite measured, printed at the end of the run (conftest)."""


def docker(*args: str, timeout: float = 120, stdin: str | None = None,
           check: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    done = subprocess.run([DOCKER, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return done.stdout.split()


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.5)


def stack_leftovers() -> dict[str, list[str]]:
    """Every object of the stack, by kind; empty lists when it is all gone."""
    namespace = f"label={NAMESPACE}={STACK}"
    volumes = [v for v in lines(docker("volume", "ls", "-q")) if v.startswith(f"{STACK}_")]
    return {
        "services": lines(docker("service", "ls", "-q", "--filter", namespace)),
        "containers": lines(docker("ps", "-aq", "--filter", namespace)),
        "networks": lines(docker("network", "ls", "-q", "--filter", namespace)),
        "configs": lines(docker("config", "ls", "-q", "--filter", namespace)),
        "secrets": lines(docker("secret", "ls", "-q", "--filter", f"label={LABEL}")),
        "volumes": volumes,
    }


def remove_stack() -> None:
    """``docker stack rm``, then wait until its tasks and networks are gone."""
    docker("stack", "rm", STACK, check=False)

    def gone() -> bool:
        left = stack_leftovers()
        return not (left["services"] or left["containers"] or left["networks"])

    wait_until(gone, 120, f"stack {STACK} to be removed")


def cleanup() -> None:
    """Remove all the suite ever creates (see the module's docstring)."""
    remove_stack()
    left = stack_leftovers()
    for kind in ("configs", "secrets"):
        if left[kind]:
            docker(kind[:-1], "rm", *left[kind], check=False)
    for volume in left["volumes"]:
        # A volume is released a moment after its container is removed.
        wait_until(lambda v=volume: docker("volume", "rm", v, check=False).returncode == 0,
                   30, f"volume {volume} to be removable")  # fmt: skip
    node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    docker("node", "update", "--label-rm", f"{SLUG}.db", node, check=False)
    images = sorted(set(lines(docker("images", "-q", "--filter", f"label={LABEL}"))))
    if images:
        docker("rmi", "-f", *images, check=False)


def self_signed(key: Path, cert: Path) -> None:
    """A two-day self-signed pair for :data:`HOST`, as the README makes one."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def create_secrets(directory: Path, *, slug: str = SLUG, label: str = LABEL) -> dict[str, str]:
    """Version 1 of each external secret of project ``slug``; returns name -> value."""
    key, cert = directory / "tls.key", directory / "tls.crt"
    self_signed(key, cert)
    values = {
        "secret_key": secrets.token_urlsafe(50),
        # The owner's password; the app logs in as version 1's own role
        # (db-roles makes it). As the README creates them: a dead database
        # host fails a connection in 2 s.
        "database_password": secrets.token_hex(16),
        "database_uri": f"postgresql://{slug}_v1:{secrets.token_hex(16)}@db:5432/{slug}"
        "?connect_timeout=2",
        "cron_api_key": secrets.token_hex(24),
        "tls_cert": cert.read_text(),
        "tls_key": key.read_text(),
    }
    for name, value in values.items():
        docker("secret", "create", "--label", label, f"{slug}_{name}_v1", "-", stdin=value)
    return values


def label_db_node() -> None:
    node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    docker("node", "update", "--label-add", f"{SLUG}.db=true", node)


# -- swarmkit -----------------------------------------------------------------------------


def swarmkit(*args: str, project: Path, env: dict[str, str] | None = None,
             timeout: float = 600) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``python -m swarmkit ARGS`` in the project directory."""
    return subprocess.run([sys.executable, "-m", "swarmkit", *args], cwd=project,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def deploy(project: Path, tag: str, ports: tuple[int, int], *extra: str,
           timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], float]:  # fmt: skip
    """``swarmkit deploy`` of the staging stack with image ``tag``; returns the run and seconds."""
    env = {"IMAGE": IMAGE, "TAG": tag, "HTTP_PORT": str(ports[0]), "HTTPS_PORT": str(ports[1])}
    started = time.monotonic()
    done = swarmkit(
        "deploy", "-c", "deploy/stack.yml", "-c", f"deploy/stack.{ENVIRONMENT}.yml",
        "-c", OVERLAY_FILE, "--env-file", f"deploy/{ENVIRONMENT}.env", "--name", STACK,
        "--resolve-image", "never", "--timeout", f"{timeout:g}", *extra,
        project=project, env=env, timeout=timeout + 60,
    )  # fmt: skip
    return done, time.monotonic() - started


def service_spec(service: str) -> dict[str, object]:
    out = docker("service", "inspect", f"{STACK}_{service}", "--format", "{{json .Spec}}").stdout
    spec: dict[str, object] = json.loads(out)
    return spec


def service_image(service: str) -> str:
    out = docker("service", "inspect", f"{STACK}_{service}", "--format",
                 "{{.Spec.TaskTemplate.ContainerSpec.Image}}").stdout  # fmt: skip
    return out.strip().split("@", 1)[0]


def containers(service: str) -> list[str]:
    """The running containers of one of the stack's services."""
    name = f"label=com.docker.swarm.service.name={STACK}_{service}"
    return lines(docker("ps", "-q", "--filter", name, "--filter", "status=running"))


def psql(sql: str) -> str:
    """Run ``sql`` in the stack's database (inside the db container), unaligned output."""
    (db,) = containers("db")
    return docker("exec", db, "psql", "-U", SLUG, "-d", SLUG, "-v", "ON_ERROR_STOP=1",
                  "-At", "-c", sql).stdout.strip()  # fmt: skip


# -- HTTPS client --------------------------------------------------------------------------


VERSION = re.compile(r"e2e-v[0-9a-z-]+")


def tls_context(cert: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=cert)
    context.check_hostname = False  # 127.0.0.1 with Host: staging.example.com
    return context


def request(port: int, path: str, context: ssl.SSLContext | None, *, timeout: float = 10,
            host: str = HOST, address: str = "127.0.0.1") -> tuple[int, dict[str, str], str]:  # fmt: skip
    """One request on a fresh connection: HTTPS when ``context`` is given, else HTTP.

    ``address`` is 127.0.0.1, or a node of the cluster suite (its own namespace).
    """
    connection: http.client.HTTPConnection
    if context is None:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    else:
        connection = http.client.HTTPSConnection(address, port, timeout=timeout,
                                                 context=context)  # fmt: skip
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


@dataclass
class LoadResult:
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    versions: Counter[str] = field(default_factory=Counter)
    last_versions: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


class Load:
    """``workers`` threads sending ``rate`` requests per second in all to the home page."""

    def __init__(self, port: int, context: ssl.SSLContext, *, rate: float = 25,
                 workers: int = 10, address: str = "127.0.0.1") -> None:  # fmt: skip
        self.port, self.context, self.address = port, context, address
        self.interval = workers / rate
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        self._started = 0.0

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
            time.sleep(self.interval / len(self._threads))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        self.result.seconds = time.monotonic() - self._started

    def _work(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            outcome = self._one()
            with self._lock:
                self.result.sent += 1
                if outcome.startswith("e2e-"):
                    self.result.versions[outcome] += 1
                    self.result.last_versions = [*self.result.last_versions[-19:], outcome]
                else:
                    self.result.failures.append(outcome)
            next_at += self.interval
            with contextlib.suppress(ValueError):
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _one(self) -> str:
        try:
            status, _, body = request(self.port, "/", self.context, address=self.address)
        except (OSError, http.client.HTTPException) as exc:
            return f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}"
        found = VERSION.search(body)
        if status != 200 or found is None:
            return f"{time.strftime('%H:%M:%S')} HTTP {status}: {body[:120]!r}"
        return found[0]


def figure(name: str, value: str) -> None:
    FIGURES[name] = value
    sys.stderr.write(f"e2e figure: {name}: {value}\n")


def shown(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"


def layer_files(image: str, directory: Path) -> Sequence[Path]:
    """``docker save`` of ``image`` unpacked into ``directory``: its layer archives and config."""
    archive = directory / "image.tar"
    docker("save", "-o", str(archive), image, timeout=300)
    subprocess.run(["tar", "-xf", str(archive), "-C", str(directory)], check=True, timeout=300)
    archive.unlink()
    return sorted(p for p in directory.rglob("*") if p.is_file())
