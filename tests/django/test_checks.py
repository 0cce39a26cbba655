"""System checks owned by the probe side: E003-E006 (the cron ones are tested with cron)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

PROBE = "swarmkit.django.middleware.ProbeMiddleware"


def ids() -> list[str]:
    return sorted(m.id for m in run_checks() if m.id and m.id.startswith("swarmkit."))


def test_test_project_is_clean() -> None:
    assert ids() == []


def test_e003_missing_middleware() -> None:
    without = [m for m in settings.MIDDLEWARE if m != PROBE]
    with override_settings(MIDDLEWARE=without):
        messages = [m for m in run_checks() if m.id == "swarmkit.E003"]
    assert len(messages) == 1
    assert PROBE in messages[0].msg
    assert "first entry" in (messages[0].hint or "")


def test_e004_middleware_not_first() -> None:
    rest = [m for m in settings.MIDDLEWARE if m != PROBE]
    with override_settings(MIDDLEWARE=[rest[0], PROBE, *rest[1:]]):
        messages = [m for m in run_checks() if m.id == "swarmkit.E004"]
    assert len(messages) == 1
    assert rest[0] in messages[0].msg


@pytest.mark.parametrize(
    ("overrides", "count"),
    [
        ({"SWARMKIT_ALIVE_PATH": "api/alive/"}, 1),
        ({"SWARMKIT_READY_PATH": "/api/ready"}, 1),
        ({"SWARMKIT_ALIVE_PATH": 5, "SWARMKIT_READY_PATH": None}, 2),
        ({"SWARMKIT_ALIVE_PATH": "/health/", "SWARMKIT_READY_PATH": "/health/"}, 1),
    ],
)
def test_e005_probe_paths(overrides: dict[str, object], count: int) -> None:
    with override_settings(**overrides):
        messages = [m for m in run_checks() if m.id == "swarmkit.E005"]
    assert len(messages) == count
    assert all("SWARMKIT_" in m.msg for m in messages)


@pytest.mark.parametrize("ttl", [-1, "2", True, None])
def test_e006_health_ttl(ttl: object) -> None:
    with override_settings(SWARMKIT_HEALTH_TTL=ttl):
        messages = [m for m in run_checks() if m.id == "swarmkit.E006"]
    assert len(messages) == 1
    assert repr(ttl) in messages[0].msg


@pytest.mark.parametrize("ttl", [0, 0.5, 10])
def test_e006_accepts_numbers(ttl: float) -> None:
    with override_settings(SWARMKIT_HEALTH_TTL=ttl):
        assert not [m for m in run_checks() if m.id == "swarmkit.E006"]


def test_deploy_check_of_the_production_like_project_passes() -> None:
    """`manage.py check --deploy` in a real process, failing even on warnings."""
    from tests.django.servers import manage, project_env

    done = manage(project_env(), "check", "--deploy", "--fail-level", "WARNING", check=False)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
