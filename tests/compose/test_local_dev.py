"""A fresh generated project's local development, run as its README says.

On the real engine, for each variant: ``docker compose up -d --build``
(through docker-compose 1.29), the migrations applied, the home page on
127.0.0.1 at the port ``APP_PORT`` names, a code change served without a
rebuild or a restart of the container, ``docker compose run --rm app pytest``
green, and ``docker compose down -v`` leaving no container, volume or network
of the project. The files themselves are checked without the engine: the
README's steps are the ones run here, the app is published on loopback only,
and the compose file stays valid for Compose v2 (the compose-spec schema).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from tests.compose import harness
from tests.compose.conftest import VARIANTS, Bakes, Variant
from tests.django.servers import http
from tests.template.helpers import check, output, run, tool

# What a new user types, in the README's own words (``docker compose`` is
# Compose v2; the suite runs these through docker-compose 1.29).
README_STEPS = (
    "docker compose up -d --build",
    "docker compose run --rm app pytest",
    "docker compose down -v",
)
RELOAD_HEADER = "X-Compose-Reload"
COUNT = re.compile(rb'id="visit-count">(\d+)<')

ids = [v.id for v in VARIANTS]


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_readme_says_what_the_suite_runs(bakes: Bakes, variant: Variant) -> None:
    commands = harness.readme_commands(bakes.project(variant))
    missing = [step for step in README_STEPS if step not in commands]
    assert missing == [], f"README's 'Run it locally' lacks {missing}; it has {commands}"


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_app_is_published_on_loopback_at_app_port(bakes: Bakes, variant: Variant) -> None:
    # Was "8000:8000": every interface, runserver with DEBUG and a known key.
    compose = yaml.safe_load((bakes.project(variant) / "docker-compose.yml").read_text())
    assert compose["services"]["app"]["ports"] == ["127.0.0.1:${APP_PORT:-8000}:8000"]
    for name, service in compose["services"].items():
        if name != "app":
            assert "ports" not in service, f"{name} publishes {service['ports']}"


def test_redis_accepts_connections_from_the_app(bakes: Bakes) -> None:
    # Was without --protected-mode no: a redis-server built with protected
    # mode on (Debian's, the stand-in here) refused the app's connections.
    variant = next(v for v in VARIANTS if v.redis)
    compose = yaml.safe_load((bakes.project(variant) / "docker-compose.yml").read_text())
    command = compose["services"]["redis"]["command"]
    assert command[command.index("--protected-mode") + 1] == "no", command


def test_compose_files_match_the_compose_spec(bakes: Bakes) -> None:
    """Valid for Compose v2 (its schema), and for 1.29 (its own ``config``)."""
    files = [bakes.project(v) / "docker-compose.yml" for v in VARIANTS]
    checker = tool("check-jsonschema", "pip install check-jsonschema")
    check(run([checker, "--builtin-schema", "vendor.compose-spec", *files], timeout=300))
    binary = harness.compose_binary()
    for file in files:
        check(run([binary, "-f", file, "config", "-q"], cwd=file.parent,
                  env={"PATH": "/usr/bin:/bin", "COMPOSE_PROJECT_NAME": "compose-config"}))  # fmt: skip


def _count(body: bytes) -> int:
    found = COUNT.search(body)
    assert found, body[:500]
    return int(found[1])


def _add_reload_header(project: Path) -> None:
    """The change a developer makes: the home view sets a header it did not set."""
    views = project / "visits" / "views.py"
    old = '    return render(request, "visits/index.html", context)\n'
    text = views.read_text()
    assert old in text
    views.write_text(text.replace(old, (
        '    response = render(request, "visits/index.html", context)\n'
        f'    response["{RELOAD_HEADER}"] = "yes"\n'
        "    return response\n"
    )))  # fmt: skip


def _wait_for_header(compose: harness.Compose, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, headers, _ = http("GET", compose.url(), timeout=5)
        except OSError:
            status, headers = 0, {}
        if status == 200 and headers.get(RELOAD_HEADER) == "yes":
            return
        time.sleep(0.5)
    logs = compose.compose("logs", "--no-color", "--tail", "40", "app").stdout
    raise AssertionError(f"the code change did not show in {timeout}s; logs:\n{logs}")


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_local_development(engine: None, bakes: Bakes, variant: Variant) -> None:
    project = bakes.project(variant)
    harness.standin_override(project)
    compose = harness.Compose(project, f"{harness.PREFIX}{variant.id}")
    try:
        up = compose.readme("up")
        assert "-d" in up, up  # else it would hold the terminal (and this test)
        check(compose.run(up))

        _, _, body = compose.wait_for_page()
        first = _count(body)
        assert _count(http("GET", compose.url())[2]) == first + 1, "the visit was not written"
        assert compose.published("app", 8000) == [f"127.0.0.1:{compose.port}"]
        # runserver answering means the command's migrate passed; none is left.
        check(compose.compose("exec", "-T", "app", "python", "manage.py", "migrate", "--check"))
        if variant.redis:
            probe = "from django.core.cache import cache; cache.set('compose-probe', 1, 60)"
            check(compose.compose("exec", "-T", "app", "python", "manage.py", "shell", "-c", probe))
            keys = check(compose.compose("exec", "-T", "redis", "redis-cli", "--scan")).stdout
            assert "compose-probe" in keys, keys

        before = compose.container("app")
        _add_reload_header(project)
        _wait_for_header(compose)
        assert compose.container("app") == before, "the container was rebuilt or restarted"

        tests = compose.run(compose.readme("run --rm app pytest"))
        assert tests.returncode == 0, output(tests)
        assert re.search(r"\d+ passed", tests.stdout), tests.stdout[-2000:]

        check(compose.run(compose.readme("down")))
        assert compose.leftovers() == {}
    finally:
        if compose.leftovers():
            compose.compose("down", "-v", "--remove-orphans")
