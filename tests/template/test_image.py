"""The production image on the local engine: it builds, runs as non-root, is healthy.

The build really uses its secret: the baked project depends on a private
wheel that only a password-protected package index serves (pypiserver on the
host, reached with ``--network host``), as does the checkout's swarm-django.
The image must hold the private package, and the password must appear
nowhere: not in ``docker history``, ``docker image inspect``, nor in any
file of any layer.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.template.helpers import (
    LABEL,
    RELOCK,
    SLUG,
    Bakes,
    Combo,
    check,
    clean_env,
    find_links,
    lock_is_current,
    output,
    pins,
    python_for,
    requirements_script,
    run,
    ship_wheel,
    tools_venv,
    write_wheel,
)
from tests.template.servers import (
    PackageIndex,
    build,
    docker,
    remove_labelled,
    require_engine,
    require_image,
)

pytestmark = pytest.mark.engine

# The default answers, but PostgreSQL 15: the version the engine has an image of.
COMBO = Combo("3.12", "5.2", "15", "n", "y")
# The other Python and Django, built as shipped (no private package added).
OTHER = Combo("3.13", "6.1", "15", "n", "n")
PROBE = "swarmkit-private-probe"
PROBE_MARKER = "served only by the private index"
USER_ID = "10001"


@dataclass
class Built:
    project: Path
    image: str
    version: str
    index: PackageIndex


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    require_engine()
    for combo in (COMBO, OTHER):
        require_image(f"python:{combo.python_version}-slim-bookworm")
    require_image(f"postgres:{COMBO.postgresql_version}-bookworm")
    remove_labelled()  # what an interrupted earlier run left
    yield
    remove_labelled()


@pytest.fixture(scope="module")
def index(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    root = tmp_path_factory.mktemp("index")
    packages = root / "packages"
    packages.mkdir()
    shutil.copy2(wheel, packages)
    module = f'"""A stand-in for a private package."""\n\nMARKER = "{PROBE_MARKER}"\n'
    write_wheel(packages, PROBE, "0.1.0", {"swarmkit_private_probe/__init__.py": module})
    server = PackageIndex(root / "server", packages).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def locked_project(
    bakes: Bakes, wheel: Path, index: PackageIndex, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The baked project with the private package added and re-locked against the index.

    ``make lock ARGS="--upgrade-package swarm-django"`` with the index as an
    extra index: it serves this checkout's swarm-django too.
    """
    project = tmp_path_factory.mktemp("image-project") / SLUG
    shutil.copytree(bakes.project(COMBO), project)
    common = project / "requirements" / "common.in"
    common.write_text(common.read_text() + f"{PROBE}==0.1.0\n")
    env = clean_env(PIP_EXTRA_INDEX_URL=index.url())
    python = python_for(COMBO.python_version)
    tools = tools_venv(python, COMBO.python_version)
    ship_wheel(project, wheel)
    check(requirements_script(project, str(tools / "bin" / "python"), "lock", env, *RELOCK))
    check(requirements_script(project, str(tools / "bin" / "python"), "check", env))
    assert lock_is_current(project, wheel), "the lock does not pin the checkout's swarm-django"
    return project


def bust_install_cache(project: Path) -> None:
    """Make BuildKit run the install step again: its cache key ignores the secret.

    A step cached by an earlier run (another password) would hide a leak of
    this run's password; a comment in the lock is a new COPY layer.
    """
    lock = project / "requirements" / "production.txt"
    lock.write_text(lock.read_text() + f"# cache buster {secrets.token_hex(8)}\n")


@pytest.fixture(scope="module")
def built(
    engine: None,
    locked_project: Path,
    index: PackageIndex,
    tmp_path_factory: pytest.TempPathFactory,
) -> Built:
    version = f"test-{secrets.token_hex(4)}"
    secret = tmp_path_factory.mktemp("secret") / "pip_index_url"
    secret.write_text(index.url())
    image = f"swarmkit-template-test:{COMBO.id}"
    bust_install_cache(locked_project)
    check(build(locked_project, image, build_args=[f"APP_VERSION={version}"], secret_file=secret))
    return Built(locked_project, image, version, index)


@pytest.fixture(scope="module")
def built_other(
    engine: None,
    bakes: Bakes,
    wheel: Path,
    index: PackageIndex,
    tmp_path_factory: pytest.TempPathFactory,
) -> Built:
    """The other Python and Django as baked; re-locked first only if swarm-django changed.

    Built with no package index that holds swarm-django and no build secret:
    the lock finds the wheel the project ships (requirements/wheels/).
    """
    root = tmp_path_factory.mktemp("image-other")
    project = root / SLUG
    shutil.copytree(bakes.project(OTHER), project)
    if not lock_is_current(project, wheel):
        ship_wheel(project, wheel)
        tools = tools_venv(python_for(OTHER.python_version), OTHER.python_version)
        env = clean_env(PIP_FIND_LINKS=find_links(wheel.parent))
        check(requirements_script(project, str(tools / "bin" / "python"), "lock", env, *RELOCK))
    version = f"test-{secrets.token_hex(4)}"
    image = f"swarmkit-template-test:{OTHER.id}"
    check(build(project, image, build_args=[f"APP_VERSION={version}"]))
    return Built(project, image, version, index)


def test_index_needs_the_password(index: PackageIndex) -> None:
    assert index.status(f"{PROBE}/", credentials=False) == 401
    assert index.status("", credentials=False) == 401
    assert index.status(f"{PROBE}/", credentials=True) == 200


def test_lock_pins_the_private_package_without_the_password(
    locked_project: Path, index: PackageIndex
) -> None:
    assert PROBE in pins(locked_project / "requirements" / "production.txt")
    secret = index.password.encode()
    for path in (locked_project / "requirements").rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), f"{path.name} holds the index password"


def in_image(built: Built, *command: str) -> str:
    done = docker("run", "--rm", "--label", LABEL, "-e", "MIGRATE_ON_START=0", "--read-only",
                  "--tmpfs", "/tmp", built.image, *command)  # fmt: skip
    return check(done).stdout


def test_runs_as_non_root_with_a_home(built: Built) -> None:
    lines = in_image(built, "sh", "-c", 'id -u; id -g; echo "$HOME"; test -d "$HOME" && echo home')
    assert lines.split() == [USER_ID, USER_ID, "/home/app", "home"]


def test_image_holds_the_app_only(built: Built) -> None:
    """.dockerignore keeps deployment files, docs and tests out; the code is read-only."""
    script = (
        "for p in manage.py staticfiles docker/production/entrypoint.sh deploy tests docs "
        "docker/local requirements/local.in .git; do "
        '[ -e "/app/$p" ] && echo "present $p" || echo "absent $p"; done; '
        '[ -w /app/manage.py ] && echo "writable code" || echo "read-only code"'
    )
    lines = set(in_image(built, "sh", "-c", script).splitlines())
    for present in ("manage.py", "staticfiles", "docker/production/entrypoint.sh"):
        assert f"present {present}" in lines
    for absent in ("deploy", "tests", "docs", "docker/local", ".git"):
        assert f"absent {absent}" in lines
    assert "read-only code" in lines


def test_private_package_is_installed(built: Built) -> None:
    marker = in_image(built, "python", "-c", "import swarmkit_private_probe as p; print(p.MARKER)")
    assert marker.strip() == PROBE_MARKER


def test_image_config(built: Built) -> None:
    (config,) = json.loads(check(docker("image", "inspect", built.image)).stdout)
    assert config["Config"]["User"] in {"app", "app:app", USER_ID, f"{USER_ID}:{USER_ID}"}
    assert "swarmkit.healthcheck" in " ".join(config["Config"]["Healthcheck"]["Test"])
    labels = config["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == built.version
    assert f"APP_VERSION={built.version}" in config["Config"]["Env"]


def wait_healthy(container: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        (inspected,) = json.loads(check(docker("inspect", container)).stdout)
        state = inspected["State"]
        health = state.get("Health") or {}
        if health.get("Status") == "healthy":
            return
        if not state.get("Running"):
            break
        time.sleep(1)
    logs = docker("logs", container)
    pytest.fail(f"{container} did not become healthy: {json.dumps(state)[:2000]}\n"
                f"{logs.stdout[-4000:]}{logs.stderr[-4000:]}")  # fmt: skip


def wait_for_postgres(container: str, user: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # TCP, not the socket: the entrypoint's init server listens on the socket only.
        if docker("exec", container, "pg_isready", "-h", "127.0.0.1", "-U", user).returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail(
        f"PostgreSQL in {container} did not start:\n{docker('logs', container).stderr[-3000:]}"
    )


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:  # no answer at all: the connection was closed or refused
        return 0, f"{type(exc).__name__}: {exc}"


def logs(container: str) -> str:
    done = docker("logs", "--tail", "60", container)
    return f"--- docker logs {container}:\n{done.stdout[-6000:]}{done.stderr[-6000:]}"


def serve(built: Built, combo: Combo) -> None:
    """As in the stack: read-only root, no capabilities, a real database; then probe it."""
    name = f"swarmkit-template-test-{secrets.token_hex(3)}"
    password = secrets.token_hex(8)
    check(docker("network", "create", "--label", LABEL, name))
    try:
        # fmt: off
        check(docker("run", "-d", "--label", LABEL, "--name", f"{name}-db", "--network", name,
                     "--network-alias", "db", "-e", f"POSTGRES_USER={SLUG}",
                     "-e", f"POSTGRES_DB={SLUG}", "-e", f"POSTGRES_PASSWORD={password}",
                     f"postgres:{combo.postgresql_version}-bookworm"))
        wait_for_postgres(f"{name}-db", SLUG)
        environment = [
            f"SECRET_KEY={secrets.token_urlsafe(50)}",
            f"DATABASE_URI=postgresql://{SLUG}:{password}@db:5432/{SLUG}?connect_timeout=2",
            "DJANGO_ALLOWED_HOSTS=example.com",
        ]
        if combo.cron:
            environment.append(f"CRON_API_KEY={secrets.token_urlsafe(32)}")
        app = f"{name}-app"
        # No MIGRATE_ON_START: the entrypoint migrates (under its lock) before gunicorn.
        check(docker("run", "-d", "--label", LABEL, "--name", app, "--network", name,
                     "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                     "-p", "127.0.0.1::8000", "--health-interval", "2s",
                     *(arg for pair in environment for arg in ("-e", pair)), built.image))
        # fmt: on
        wait_healthy(app)
        check(docker("exec", app, "python", "-m", "swarmkit.healthcheck"))
        pid1 = check(docker("exec", app, "cat", "/proc/1/cmdline")).stdout.replace("\0", " ")
        assert "gunicorn" in pid1, f"PID 1 is not gunicorn (the entrypoint must exec): {pid1}"
        address = check(docker("port", app, "8000/tcp")).stdout.split()[0]
        status, body = get(f"http://{address}/api/alive/")
        assert status == 200, f"{body}\n{logs(app)}"
        assert built.version not in body
        # The example page, as the proxy forwards it: it writes a visit and shows the release.
        headers = {"Host": "example.com", "X-Forwarded-Proto": "https"}
        status, body = get(f"http://{address}/", headers)
        assert status == 200, f"{body}\n{logs(app)}"
        assert built.version in body
        # A logged error (here DisallowedHost) must not cost the response, even
        # with no mail server for the error mails.
        status, body = get(f"http://{address}/", {"Host": "evil.example.net",
                                                  "X-Forwarded-Proto": "https"})  # fmt: skip
        assert status == 400, f"{body}\n{logs(app)}"
    finally:
        for container in (f"{name}-app", f"{name}-db"):
            docker("rm", "-f", "-v", container)
        docker("network", "rm", name)


def test_migrates_then_serves_alive_under_gunicorn(built: Built) -> None:
    serve(built, COMBO)


def test_other_python_and_django_image(built_other: Built) -> None:
    lines = check(docker("run", "--rm", "--label", LABEL, "-e", "MIGRATE_ON_START=0",
                         built_other.image, "sh", "-c", "id -u; python -V")).stdout  # fmt: skip
    assert lines.split() == [USER_ID, "Python", lines.split()[-1]]
    assert lines.split()[-1].startswith(OTHER.python_version + ".")
    serve(built_other, OTHER)


# -- the build secret -------------------------------------------------------------------


def password_forms(index: PackageIndex) -> list[bytes]:
    basic = b64encode(f"{index.user}:{index.password}".encode())
    return [index.password.encode(), basic]


def test_password_not_in_history(built: Built) -> None:
    history = check(docker("history", "--no-trunc", built.image)).stdout
    for form in password_forms(built.index):
        assert form.decode() not in history


def test_password_not_in_image_inspect(built: Built) -> None:
    inspected = check(docker("image", "inspect", built.image)).stdout
    for form in password_forms(built.index):
        assert form.decode() not in inspected


def layer_hits(blob: bytes, forms: list[bytes]) -> tuple[bool, list[str]]:
    """Whether ``blob`` is a tar archive, and which of its entries hold one of ``forms``."""
    try:
        layer = tarfile.open(fileobj=io.BytesIO(blob), mode="r:*")  # noqa: SIM115 - closed below
    except tarfile.TarError:
        return False, []
    hits = []
    with layer:
        for entry in layer:
            content = layer.extractfile(entry) if entry.isfile() else None
            data = content.read() if content is not None else b""
            if any(form in data or form in entry.name.encode() for form in forms):
                hits.append(entry.name)
    return True, hits


def test_password_not_in_any_layer(built: Built, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    check(docker("save", "-o", str(archive), built.image, timeout=300))
    forms = password_forms(built.index)
    found: list[str] = []
    layers = 0
    with tarfile.open(archive) as outer:
        for member in outer:
            data = outer.extractfile(member) if member.isfile() else None
            if data is None:
                continue
            blob = data.read()
            if any(form in blob for form in forms):
                found.append(member.name)
            is_layer, hits = layer_hits(blob, forms)
            layers += is_layer
            found += [f"{member.name}:{hit}" for hit in hits]
    assert layers > 0, "docker save gave no layer"
    assert found == []


@pytest.mark.parametrize("secret", ["none", "without-password"])
def test_build_fails_without_the_credentials(
    engine: None, locked_project: Path, index: PackageIndex, tmp_path: Path, secret: str
) -> None:
    """The index really needs the password: without it, pip cannot install the lock."""
    project = tmp_path / SLUG
    shutil.copytree(locked_project, project)
    bust_install_cache(project)
    secret_file = None
    if secret == "without-password":
        secret_file = tmp_path / "pip_index_url"
        secret_file.write_text(index.url(credentials=False))
    image = f"swarmkit-template-test:no-credentials-{secret}"
    done = build(project, image, build_args=["APP_VERSION=none"], secret_file=secret_file)
    docker("rmi", "-f", image)
    assert done.returncode != 0, output(done)
    log = done.stdout + done.stderr
    # Both live on the private index only; pip stops at the first it cannot get.
    assert re.search(rf"No matching distribution found for (swarm-django|{PROBE})==", log), output(
        done
    )


# -- the proxy's configuration ----------------------------------------------------------

NGINX = "nginx:1.22-bookworm"  # the oldest nginx the conf must run on (Debian's)


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_proxy_conf_passes_nginx_t(
    engine: None, bakes: Bakes, tmp_path: Path, environment: str
) -> None:
    """As the stack runs nginx: user 101, read-only root, a tmpfs on /tmp, TLS from secrets."""
    require_image(NGINX)
    cert, key = tmp_path / "tls_cert", tmp_path / "tls_key"
    check(run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
               "-subj", "/CN=example.com", "-keyout", key, "-out", cert]))  # fmt: skip
    for path in (cert, key):
        path.chmod(0o644)  # the stack gives them to uid 101; a bind mount keeps the host's owner
    projects = [bakes.project(COMBO)] + ([bakes.custom] if bakes.custom else [])
    for project in projects:
        conf = project / "deploy" / "configs" / environment / "nginx.conf"
        # fmt: off
        done = docker("run", "--rm", "--label", LABEL, "--user", "101:101", "--read-only",
                      "--tmpfs", "/tmp", "--cap-drop", "ALL",
                      "-v", f"{conf}:/etc/nginx/nginx.conf:ro",
                      "-v", f"{cert}:/run/secrets/tls_cert:ro",
                      "-v", f"{key}:/run/secrets/tls_key:ro",
                      "--entrypoint", "nginx", NGINX, "-e", "stderr", "-t")
        # fmt: on
        check(done)
        assert "test is successful" in done.stderr, output(done)


def test_proxy_tls_suites_and_headers_on_real_nginx(
    engine: None, bakes: Bakes, tmp_path: Path
) -> None:
    """``openssl s_client`` against the generated conf: no suite without forward secrecy."""
    require_image(NGINX)
    cert, key = tmp_path / "tls_cert", tmp_path / "tls_key"
    check(run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
               "-subj", "/CN=example.com", "-keyout", key, "-out", cert]))  # fmt: skip
    for path in (cert, key):
        path.chmod(0o644)
    conf = bakes.project(COMBO) / "deploy" / "configs" / "production" / "nginx.conf"
    name = f"swarmkit-template-test-tls-{secrets.token_hex(3)}"
    # fmt: off
    check(docker("run", "-d", "--label", LABEL, "--name", name, "--user", "101:101",
                 "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "-p", "127.0.0.1::8443",
                 "-v", f"{conf}:/etc/nginx/nginx.conf:ro",
                 "-v", f"{cert}:/run/secrets/tls_cert:ro", "-v", f"{key}:/run/secrets/tls_key:ro",
                 "--entrypoint", "nginx", NGINX, "-e", "stderr", "-g", "daemon off;"))
    # fmt: on
    try:
        address = check(docker("port", name, "8443/tcp")).stdout.split()[0]
        deadline = time.monotonic() + 30

        def handshake(*args: str) -> Any:
            return run(["openssl", "s_client", "-connect", address, "-servername", "example.com",
                        *args], input="", timeout=30)  # fmt: skip

        while handshake("-tls1_3").returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert handshake("-tls1_3").returncode == 0, logs(name)
        gcm = handshake("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
        assert gcm.returncode == 0, output(gcm)
        assert "ECDHE-RSA-AES128-GCM-SHA256" in gcm.stdout, output(gcm)
        for weak in ("AES256-SHA", "AES128-GCM-SHA256", "ECDHE-RSA-AES256-SHA"):
            done = handshake("-tls1_2", "-cipher", weak)
            assert done.returncode != 0, output(done)
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request(f"https://{address}/", headers={"Host": "example.com"})
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                headers = response.headers
        except urllib.error.HTTPError as exc:  # no app behind it: 502, headers still sent
            headers = exc.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "camera=()" in headers["Permissions-Policy"]
    finally:
        docker("rm", "-f", name)
