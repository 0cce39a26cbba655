"""The generated project's transport and browser hardening, on every baked project.

Encrypted overlays as ``docker stack config`` renders them, the proxy's TLS
cipher list and its security headers, and templates that the
Content-Security-Policy does not break (no inline script, style or handler).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tests.template.helpers import Bakes, run, unavailable
from tests.template.test_static_checks import (
    IMAGE,
    STACKS,
    TAG,
    docker_clients,
    stack_files,
    variables,
)

ENVIRONMENTS = ("staging", "production")
# What would run in the page, or style it, without being a file of its origin.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\bstyle\s*=|\bon[a-z]+\s*=\s*[\"']|javascript:",
    re.IGNORECASE,
)


@pytest.mark.parametrize(("environment", "fallbacks"), STACKS)
def test_every_overlay_is_encrypted(bakes: Bakes, environment: str, fallbacks: bool) -> None:
    clients = docker_clients()
    if not clients:
        unavailable("the docker CLI is not installed (`docker stack config` is the oracle)")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
           **variables(fallbacks, IMAGE=IMAGE, TAG=TAG)}  # fmt: skip
    for project in bakes.all():
        args = [arg for f in stack_files(project, environment, fallbacks) for arg in ("-c", f)]
        done = run([clients[0], "stack", "config", *args], cwd=project, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        networks = yaml.safe_load(done.stdout)["networks"]
        assert set(networks) == {"frontend", "backend"}
        for name, network in networks.items():
            assert network["driver"] == "overlay", name
            assert "encrypted" in (network.get("driver_opts") or {}), f"{project}: {name}"


def nginx_conf(project: Path, environment: str) -> str:
    return (project / "deploy" / "configs" / environment / "nginx.conf").read_text()


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_tls_12_suites_have_forward_secrecy_and_aead(bakes: Bakes, environment: str) -> None:
    for project in bakes.all():
        (ciphers,) = re.findall(r"^\s*ssl_ciphers\s+([^;]+);", nginx_conf(project, environment),
                                re.MULTILINE)  # fmt: skip
        for suite in ciphers.split(":"):
            assert suite.startswith("ECDHE-"), suite
            assert suite.endswith(("GCM-SHA256", "GCM-SHA384", "CHACHA20-POLY1305")), suite


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_security_headers_are_always_sent(bakes: Bakes, environment: str) -> None:
    for project in bakes.all():
        conf = nginx_conf(project, environment)
        (csp,) = re.findall(r'add_header Content-Security-Policy "([^"]+)" always;', conf)
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in csp
        assert re.search(r'add_header Permissions-Policy "[^"]*camera=\(\)[^"]*" always;', conf)
        # A location with its own add_header would drop the server's ones.
        assert conf.count("add_header") == 3


def test_generated_templates_have_nothing_inline(bakes: Bakes) -> None:
    found = []
    for project in bakes.all():
        templates = sorted(project.rglob("templates/**/*.html"))
        assert templates, f"{project}: no template found"
        for template in templates:
            for number, line in enumerate(template.read_text().splitlines(), 1):
                if INLINE.search(line):
                    found.append(f"{template}:{number}: {line.strip()}")
    assert found == []


def test_django_admin_templates_have_no_inline_script() -> None:
    """The admin the project ships with passes ``script-src 'self'``."""
    import django

    admin = Path(django.__file__).parent / "contrib" / "admin" / "templates"
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\bon[a-z]+\s*=\s*[\"']", re.I)
    found = [
        f"{template}:{number}"
        for template in sorted(admin.rglob("*.html"))
        for number, line in enumerate(template.read_text().splitlines(), 1)
        if inline_script.search(line)
    ]
    assert found == []
