"""The generated project's secrets rotated on the real swarm, one command each, under load.

Its own project, stack and objects, apart from the rest of the end-to-end
suite (whose clean-up removes everything labelled ``swarmkit-test=e2e``):
the project "Rot Shop" (slug ``rot_shop``), the stack ``rot_shop_staging``,
the image ``swarmkit-rot/rot-shop:v1``, external secrets labelled
``swarmkit-test=rot`` (a rotation copies the label to the new version) and
the node label ``rot_shop.db``. :func:`cleanup` removes exactly these, first
(an earlier run may have been interrupted) and last.

Each rotation is ``swarmkit secret rotate`` as the generated README writes it,
while a client sends 25 requests per second over HTTPS to 127.0.0.1 on the
proxy's host-mode port and counts every answer that is not the page.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.django.servers import free_port
from tests.e2e import harness
from tests.e2e.build import bake_project, build_images
from tests.e2e.harness import Load, docker, lines, shown, swarmkit, tls_context, wait_until
from tests.template.servers import require_engine, require_image

SLUG = "rot_shop"
STACK = f"{SLUG}_staging"
IMAGE = "swarmkit-rot/rot-shop"
LABEL = "swarmkit-test=rot"
NAMESPACE = "com.docker.stack.namespace"
ANSWERS = {
    "project_name": "Rot Shop",
    "python_version": "3.12",
    "django_version": "5.2",
    "postgresql_version": "15",
    "use_redis": "n",
    "use_cron": "y",
}
FILES = ["-c", "deploy/stack.yml", "-c", "deploy/stack.staging.yml", "-c", harness.OVERLAY_FILE]
FALLBACKS = ["-c", "deploy/stack.secret-key-fallbacks.yml"]
RATE = 10  # requests per second; the machine is shared, the point is that none fails
# The suite's overlay with a more patient app probe: on a loaded machine the
# 3 s probe timeout kills healthy tasks, and the rotation would fail for that.
OVERLAY = harness.OVERLAY.replace(
    "healthcheck: {interval: 2s, timeout: 3s, retries: 3, start_period: 20s}",
    "healthcheck: {interval: 3s, timeout: 15s, retries: 5, start_period: 60s}",
)
assert OVERLAY != harness.OVERLAY


@dataclass(frozen=True)
class Rot:
    """The baked project, deployed, and what a client needs to reach it."""

    project: Path
    ports: tuple[int, int]
    values: dict[str, str]  # the v1 values, by secret key

    @property
    def env(self) -> dict[str, str]:
        return {"IMAGE": IMAGE, "TAG": "v1", "HTTP_PORT": str(self.ports[0]),
                "HTTPS_PORT": str(self.ports[1])}  # fmt: skip

    def rotate(self, *args: str) -> subprocess.CompletedProcess[str]:
        return swarmkit("secret", "rotate", *FILES, *args, "--env-file", "deploy/staging.env",
                        "--name", STACK, "--resolve-image", "never", "--timeout", "300",
                        project=self.project, env=self.env, timeout=400)  # fmt: skip


def cleanup() -> None:
    """Remove the stack, its secrets, volumes, image and node label: ours only."""
    docker("stack", "rm", STACK, check=False)
    wait_until(lambda: not lines(docker("ps", "-aq", "--filter", f"label={NAMESPACE}={STACK}"))
               and not lines(docker("network", "ls", "-q", "--filter",
                                    f"label={NAMESPACE}={STACK}")),
               120, f"stack {STACK} to be removed")  # fmt: skip
    for kind in ("secret", "config"):
        found = lines(docker(kind, "ls", "-q", "--filter", f"label={LABEL}"))
        found += lines(docker(kind, "ls", "-q", "--filter", f"label={NAMESPACE}={STACK}"))
        if found:
            docker(kind, "rm", *sorted(set(found)), check=False)
    for volume in lines(docker("volume", "ls", "-q")):
        if volume.startswith(f"{STACK}_"):
            wait_until(lambda v=volume: docker("volume", "rm", v, check=False).returncode == 0,
                       30, f"volume {volume} to be removable")  # fmt: skip
    node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    docker("node", "update", "--label-rm", f"{SLUG}.db", node, check=False)
    docker("rmi", "-f", f"{IMAGE}:v1", check=False)


@pytest.fixture(scope="module")
def rot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rot]:
    require_engine()
    for image in ("python:3.12-slim-bookworm", "postgres:15-bookworm", "nginx:1.22-bookworm"):
        require_image(image)
    cleanup()
    root = tmp_path_factory.mktemp("rot")
    project = bake_project(root, ANSWERS)
    (project / harness.OVERLAY_FILE).write_text(OVERLAY)
    build_images(project, root, IMAGE, {"v1": None}, label=LABEL)
    try:
        values = harness.create_secrets(root, slug=SLUG, label=LABEL)
        node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
        docker("node", "update", "--label-add", f"{SLUG}.db=true", node)
        deployed = Rot(project, (free_port(), free_port()), values)
        done = swarmkit("deploy", *FILES, "--env-file", "deploy/staging.env", "--name", STACK,
                        "--resolve-image", "never", "--timeout", "300",
                        project=project, env=deployed.env, timeout=400)  # fmt: skip
        assert done.returncode == 0, shown(done)
        yield deployed
    finally:
        cleanup()


def app_containers() -> list[str]:
    return lines(docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name="
                        f"{STACK}_app", "--filter", "status=running"))  # fmt: skip


def app_python(code: str, *, mounted: str | None = None) -> str:
    """Run ``code`` in Django's shell in a running app container; its output.

    With ``mounted``, once every running app container has that secret (an
    old task may still be stopping after a converged deploy).
    """
    if mounted:
        wait_until(lambda: all(docker("exec", c, "test", "-e", f"/run/secrets/{mounted}",
                                      check=False).returncode == 0 for c in app_containers()),
                   60, f"every app task to mount {mounted}")  # fmt: skip
    done = docker("exec", app_containers()[0], "python", "manage.py", "shell", "--no-imports",
                  "-c", code, timeout=120)  # fmt: skip
    return done.stdout.strip()


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def rotate_under_load(rot: Rot, *args: str) -> tuple[subprocess.CompletedProcess[str], Load]:
    with Load(rot.ports[1], tls_context(rot.values["tls_cert"]), rate=RATE) as load:
        done = rot.rotate(*args)
    return done, load


def assert_no_failures(load: Load, during: str) -> None:
    result = load.result
    assert result.rate >= RATE * 0.8, f"only {result.rate:.1f} requests/s during {during}"
    assert not result.failures, (
        f"{len(result.failures)} of {result.sent} requests failed during {during}: "
        + "; ".join(result.failures[:10])
    )
    harness.figure(f"{during}: requests, failed", f"{result.sent}, 0")


SIGN = "from django.core import signing; print(signing.dumps('rot-session'))"
CHECK = """
import hashlib
from django.conf import settings
from django.core import signing
h = lambda v: hashlib.sha256(v.encode()).hexdigest()
print(h(settings.SECRET_KEY), *[h(k) for k in settings.SECRET_KEY_FALLBACKS])
print(signing.loads({token!r}))
try:
    signing.loads({token!r}, fallback_keys=[])
except signing.BadSignature:
    print("refused without fallbacks")
"""


def test_secret_key_rotates_and_the_old_key_stays_valid(rot: Rot) -> None:
    token = app_python(SIGN)
    done, load = rotate_under_load(rot, *FALLBACKS, "--generate", "base64:48",
                                   "--previous", "SECRET_KEY_FALLBACKS_VERSION", "secret_key")  # fmt: skip
    assert done.returncode == 0, shown(done)
    assert_no_failures(load, "secret_key rotation")
    env = (rot.project / "deploy" / "staging.env").read_text()
    assert "\nSECRET_KEY_VERSION=2\n" in env and "\nSECRET_KEY_FALLBACKS_VERSION=1\n" in env
    assert f"kept secret {SLUG}_secret_key_v1 (a service still uses it)" in done.stderr

    # Every app task rolled: the new key, the old one as fallback, the old token valid.
    keys, loaded, refused = app_python(
        CHECK.format(token=token), mounted="secret_key_fallbacks"
    ).splitlines()
    assert keys.split()[1:] == [sha(rot.values["secret_key"])]
    assert keys.split()[0] != sha(rot.values["secret_key"])
    assert (loaded, refused) == ("rot-session", "refused without fallbacks")

    listed = swarmkit("secret", "ls", STACK, "--format", "json", project=rot.project).stdout
    assert '"target": "secret_key_fallbacks"' in listed

    # The next rotation drops the older fallback: v2 becomes it, v1 goes.
    done = rot.rotate(*FALLBACKS, "--generate", "base64:48",
                      "--previous", "SECRET_KEY_FALLBACKS_VERSION", "secret_key")  # fmt: skip
    assert done.returncode == 0, shown(done)
    assert f"removed secret {SLUG}_secret_key_v1" in done.stderr
    assert f"{SLUG}_secret_key_v1" not in lines(docker("secret", "ls", "--format", "{{.Name}}"))


CRON_FALLBACKS = ["-c", "deploy/stack.cron-key-fallbacks.yml"]


def service_logs(service: str, since: str) -> list[str]:
    """The log lines since ``since`` of every container of the service, stopped ones too.

    Through each container (``docker service logs`` can hang on a task that is gone).
    """
    found = []
    for container in lines(docker("ps", "-aq", "--filter",
                                  f"label=com.docker.swarm.service.name={STACK}_{service}")):  # fmt: skip
        done = docker("logs", "--since", since, container, timeout=60, check=False)
        found += (done.stdout + done.stderr).splitlines()
    return found


def db_container() -> str:
    (db,) = lines(docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name="
                         f"{STACK}_db", "--filter", "status=running"))  # fmt: skip
    return db


def cron_rows() -> int:
    out = docker("exec", db_container(), "psql", "-U", SLUG, "-d", SLUG, "-At", "-c",
                 "SELECT count(*) FROM visits_visit WHERE path LIKE 'cron:%'").stdout  # fmt: skip
    return int(out.strip())


def test_cron_api_key_rotates_without_a_refused_call(rot: Rot) -> None:
    started = docker("info", "--format", "{{.SystemTime}}").stdout.strip()
    before = cron_rows()
    # The secret_key fallback of the test before stays, as deploy/deploy.sh keeps it.
    done, load = rotate_under_load(rot, *FALLBACKS, *CRON_FALLBACKS, "--generate", "hex:32",
                                   "--previous", "CRON_API_KEY_FALLBACKS_VERSION",
                                   "cron_api_key")  # fmt: skip
    assert done.returncode == 0, shown(done)
    assert_no_failures(load, "cron_api_key rotation")
    env = (rot.project / "deploy" / "staging.env").read_text()
    assert "\nCRON_API_KEY_VERSION=2\n" in env and "\nCRON_API_KEY_FALLBACKS_VERSION=1\n" in env

    # The job (every 3 s) kept running through the rotation and after it.
    wait_until(lambda: cron_rows() >= before + 5, 60, "cron slots after the rotation")
    scheduler_log = service_logs("scheduler", started)
    assert any('"event": "succeeded"' in line for line in scheduler_log), "no scheduler log"
    refused = [line for line in scheduler_log if '"code": 401' in line or "config_error" in line]
    assert not refused, refused[:5]
    app_log = service_logs("app", started)
    assert any("Booting worker" in line for line in app_log), "no app log"
    unauthorized = [line for line in app_log if "Unauthorized" in line]
    assert not unauthorized, unauthorized[:5]
    harness.figure("cron_api_key rotation: cron calls refused", "0")
    assert not [line for line in scheduler_log if rot.values["cron_api_key"] in line]


DATABASE_PREVIOUS = ["-c", "deploy/stack.database-previous.yml"]
SESSION = (
    "from django.db import connection; cursor = connection.cursor(); "
    "cursor.execute('SELECT session_user, current_user'); print(*cursor.fetchone())"
)
LOGIN = """
import sys, psycopg
from urllib.parse import urlsplit
uri = urlsplit(sys.stdin.read())
try:
    psycopg.connect(host="db", dbname="{slug}", user=uri.username, password=uri.password,
                    connect_timeout=5).close()
    print("logged in")
except psycopg.OperationalError as exc:
    print("refused:", "not permitted to log in" in str(exc))
"""


def login_with(uri: str) -> str:
    """What a login to the stack's database with ``uri``'s user and password says (in an app task)."""
    done = docker("exec", "-i", app_containers()[0], "python", "-c", LOGIN.format(slug=SLUG),
                  stdin=uri, timeout=60)  # fmt: skip
    return done.stdout.strip()


def test_database_uri_rotates_and_the_old_role_loses_login(rot: Rot) -> None:
    """The app's password rotates as the README writes it, and no request fails meanwhile."""
    assert login_with(rot.values["database_uri"]) == "logged in"
    template = f"postgresql://{SLUG}_v{{version}}:{{password}}@db:5432/{SLUG}?connect_timeout=2"
    done, load = rotate_under_load(rot, *FALLBACKS, *CRON_FALLBACKS, *DATABASE_PREVIOUS,
                                   "--generate", template, "--previous",
                                   "DATABASE_PREVIOUS_VERSION", "--retire-previous",
                                   "database_uri")  # fmt: skip
    assert done.returncode == 0, shown(done)
    assert_no_failures(load, "database_uri rotation")
    env = (rot.project / "deploy" / "staging.env").read_text()
    assert "\nDATABASE_VERSION=2\n" in env and "\nDATABASE_PREVIOUS_VERSION=\n" in env
    assert f"removed secret {SLUG}_database_uri_v1" in done.stderr
    # Every app task logs in as version 2's role and acts as the owner.
    for container in app_containers():
        session = docker("exec", container, "python", "manage.py", "shell", "--no-imports",
                         "-c", SESSION, timeout=120).stdout.strip()  # fmt: skip
        assert session.splitlines()[-1] == f"{SLUG}_v2 {SLUG}", session
    # The old URI no longer logs in: its role lost LOGIN.
    assert login_with(rot.values["database_uri"]) == "refused: True"
    roles = docker("exec", db_container(), "psql", "-U", SLUG, "-d", SLUG, "-tAc",
                   f"SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname ~ '^{SLUG}_v' "
                   "ORDER BY 1").stdout.split()  # fmt: skip
    assert roles == [f"{SLUG}_v1|f", f"{SLUG}_v2|t"]
    harness.figure("database_uri rotation: app logins refused", "0")


def served_fingerprint(port: int) -> str:
    """The SHA-256 fingerprint of the certificate the proxy serves, as openssl shows it."""
    served = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                             "-servername", harness.HOST], input="", capture_output=True,
                            text=True, timeout=30, check=False)  # fmt: skip
    return fingerprint(served.stdout)


def fingerprint(pem: str) -> str:
    done = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem,
                          capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
    return done.stdout.strip()


def test_tls_pair_rotates_and_nginx_serves_the_new_certificate(rot: Rot, tmp_path: Path) -> None:
    key, cert = tmp_path / "new.key", tmp_path / "new.crt"
    harness.self_signed(key, cert)
    old = served_fingerprint(rot.ports[1])
    assert old == fingerprint(rot.values["tls_cert"])
    # The client trusts both certificates: it checks every answer, old or new pair.
    trust = tls_context(rot.values["tls_cert"] + cert.read_text())
    with Load(rot.ports[1], trust, rate=RATE) as load:
        done = rot.rotate(*FALLBACKS, *CRON_FALLBACKS, "--file", f"tls_cert={cert}",
                          "--file", f"tls_key={key}", "tls_cert")  # fmt: skip
    assert done.returncode == 0, shown(done)
    env = (rot.project / "deploy" / "staging.env").read_text()
    assert "\nTLS_VERSION=2\n" in env
    assert served_fingerprint(rot.ports[1]) == fingerprint(cert.read_text()) != old
    assert f"removed secret {SLUG}_tls_key_v1" in done.stderr

    # One proxy per node on host-mode ports: it restarts stop-first, and this
    # single node does not answer for that moment. Every failure is a refused
    # or cut connection (never a wrong answer or a certificate error), and
    # they are few: the restart's gap. A connection the stopping nginx cuts
    # mid-handshake is an SSLEOFError: cut, not a certificate refused.
    failures = load.result.failures
    cut = ("ConnectionRefusedError", "ConnectionResetError", "RemoteDisconnected", "SSLEOFError")
    assert all(any(kind in f for kind in cut) and "CERTIFICATE" not in f.upper()
               for f in failures), failures[:10]  # fmt: skip
    assert len(failures) <= RATE * 15, f"{len(failures)} failed requests"
    harness.figure("TLS rotation (one node): requests, refused while the proxy restarted",
                   f"{load.result.sent}, {len(failures)}")  # fmt: skip
