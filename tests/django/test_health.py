"""ProbeMiddleware and the readiness checks, in process, on the real test database.

The test project has production security on (``ALLOWED_HOSTS =
["app.example.com"]``, ``SECURE_SSL_REDIRECT``); probes arrive like Swarm's
healthcheck sends them: plain HTTP, Host ``127.0.0.1:8000`` or ``app:8000``.
The same over real HTTP is in test_health_outage.py.
"""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from swarmkit.django import health

FOREIGN_HOSTS = ["127.0.0.1:8000", "app:8000"]
SHORT_STATUSES = {"ok", "unreachable", "error", "unapplied migrations", "unknown"}


# A URLconf for the cron dispatch tests: the swarmkit:cron contract, mounted
# somewhere else than api/, next to a view that does not ask for the bypass.
def fake_cron_view(request: HttpRequest, job: str) -> HttpResponse:
    return JsonResponse({"job": job, "method": request.method})


fake_cron_view.swarmkit_bypass = True  # type: ignore[attr-defined]


def not_bypassed(request: HttpRequest, job: str) -> HttpResponse:
    return HttpResponse("reached")


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


cron_patterns = [
    path("cron/<str:job>/", fake_cron_view, name="cron"),
    path("cron/<str:job>/history/", not_bypassed, name="history"),
]
urlpatterns = [
    path("hooks/", include((cron_patterns, "swarmkit"))),
    path("bare/", bare),
]


class NoCronURLs:
    """A URLconf (any hashable object with ``urlpatterns`` will do) without swarmkit:cron."""

    urlpatterns = [path("hooks/cron/<str:job>/", fake_cron_view), path("bare/", bare)]


@pytest.fixture(autouse=True)
def fresh_process(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Every test starts like a freshly started worker of a fresh container."""
    state = tmp_path / "state"
    settings.SWARMKIT_STATE_DIR = str(state)
    settings.SWARMKIT_HEALTH_TTL = 0
    health.reset_state()
    yield state
    health.reset_state()


def body(response: Any) -> Any:
    return json.loads(response.content)


def unapply(app: str = "contenttypes") -> tuple[str, str]:
    """Make the default database look one migration behind (rolled back with the test)."""
    recorder = MigrationRecorder(connection)
    row = recorder.migration_qs.filter(app=app).order_by("-id").first()
    assert row is not None
    recorder.record_unapplied(row.app, row.name)
    return row.app, row.name


@pytest.mark.django_db
@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_probes_answer_foreign_hosts_over_plain_http(client: Any, host: str) -> None:
    # The rest of the site refuses these requests: that is why the middleware goes first.
    assert client.get("/bare/", HTTP_HOST=host).status_code == 400
    assert client.get("/bare/", HTTP_HOST="app.example.com").status_code == 301

    alive = client.get("/api/alive/", HTTP_HOST=host)
    assert alive.status_code == 200
    assert body(alive) == {"status": "alive"}
    ready = client.get("/api/ready/", HTTP_HOST=host)
    assert ready.status_code == 200
    assert body(ready) == {
        "status": "ready",
        "checks": {"database:default": "ok", "migrations": "ok"},
    }
    for response in (alive, ready):
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response
        assert "Strict-Transport-Security" not in response  # SecurityMiddleware never ran


@pytest.mark.django_db
@pytest.mark.parametrize("probe", ["/api/alive/", "/api/ready/"])
def test_only_get_and_head(client: Any, probe: str) -> None:
    assert client.head(probe, HTTP_HOST="127.0.0.1:8000").status_code == 200
    for method in ("post", "put", "patch", "delete", "options"):
        response = getattr(client, method)(probe, HTTP_HOST="127.0.0.1:8000")
        assert response.status_code == 405, method
        assert response["Allow"] == "GET, HEAD"
        assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_alive_waits_for_the_first_ready_then_writes_the_marker(
    client: Any, fresh_process: Path
) -> None:
    app, name = unapply()
    ready = client.get("/api/ready/")
    assert ready.status_code == 503
    assert body(ready) == {
        "status": "unready",
        "checks": {"database:default": "ok", "migrations": "unapplied migrations"},
    }
    alive = client.get("/api/alive/")
    assert alive.status_code == 503
    assert body(alive) == {"status": "starting"}
    assert not fresh_process.exists()

    MigrationRecorder(connection).record_applied(app, name)
    assert client.get("/api/alive/").status_code == 200
    marker = fresh_process / health.ALIVE_MARKER
    assert marker.is_file()
    assert stat.S_IMODE(fresh_process.stat().st_mode) == 0o700
    assert client.get("/api/ready/").status_code == 200


@pytest.mark.django_db
def test_a_fresh_worker_trusts_the_marker_even_when_unready(
    client: Any, fresh_process: Path
) -> None:
    assert client.get("/api/alive/").status_code == 200
    health.reset_state()  # as a recycled worker: nothing in memory, the marker on disk
    unapply()
    assert client.get("/api/ready/").status_code == 503
    alive = client.get("/api/alive/")
    assert alive.status_code == 200
    assert body(alive) == {"status": "alive"}


@pytest.mark.django_db
def test_marker_of_another_container_does_not_count(
    client: Any, settings: Any, tmp_path: Path, fresh_process: Path
) -> None:
    assert client.get("/api/alive/").status_code == 200
    assert (fresh_process / health.ALIVE_MARKER).is_file()
    settings.SWARMKIT_STATE_DIR = str(tmp_path / "other")  # a new container's tmpfs
    unapply()
    assert client.get("/api/alive/").status_code == 503
    assert not (tmp_path / "other" / health.ALIVE_MARKER).exists()


@pytest.mark.django_db
def test_result_is_cached_for_the_ttl(settings: Any) -> None:
    settings.SWARMKIT_HEALTH_TTL = 3600
    with CaptureQueriesContext(connection) as first:
        result = health.readiness()
    assert result.ready
    assert len(first) >= 2  # SELECT 1, then the migration recorder
    with CaptureQueriesContext(connection) as cached:
        for _ in range(50):
            assert health.readiness() is result
    assert len(cached) == 0


@pytest.mark.django_db
def test_once_migrated_a_check_is_one_select_per_database() -> None:
    assert health.readiness().ready  # TTL 0: every call checks again
    with CaptureQueriesContext(connection) as later:
        assert health.readiness().ready
    assert [query["sql"] for query in later] == ["SELECT 1"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_threads_share_one_check(settings: Any) -> None:
    settings.SWARMKIT_HEALTH_TTL = 3600
    results: list[health.Readiness] = []
    start = threading.Barrier(8)

    def probe() -> None:
        start.wait()
        try:
            results.append(health.readiness())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=probe) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 8
    assert all(result is results[0] for result in results)
    assert results[0].ready


@pytest.mark.django_db
def test_remote_caches_are_checked_local_ones_are_not(settings: Any, tmp_path: Path) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
        "files": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        },
    }
    result = health.readiness()
    assert dict(result.checks) == {
        "database:default": "ok",
        "cache:files": "ok",
        "migrations": "ok",
    }


@pytest.mark.django_db
def test_failures_are_short_words_never_exception_text(client: Any, settings: Any) -> None:
    # A database cache whose table was never created: the error text names the table.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "sessions": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "no_such_cache_table",
        },
    }
    response = client.get("/api/ready/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 503
    document = body(response)
    assert document["status"] == "unready"
    assert document["checks"]["cache:sessions"] in {"unreachable", "error"}
    assert set(document["checks"].values()) <= SHORT_STATUSES
    assert b"no_such_cache_table" not in response.content
    assert b"Traceback" not in response.content
    assert set(document) == {"status", "checks"}


@pytest.mark.django_db
def test_probe_paths_follow_the_settings(client: Any, settings: Any) -> None:
    settings.SWARMKIT_ALIVE_PATH = "/-/alive/"
    settings.SWARMKIT_READY_PATH = "/-/ready/"
    assert client.get("/-/alive/", HTTP_HOST="app:8000").status_code == 200
    assert client.get("/-/ready/", HTTP_HOST="app:8000").status_code == 200
    # The old paths are ordinary URLs again, refused for the foreign Host.
    assert client.get("/api/alive/", HTTP_HOST="app:8000").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_cron_endpoint_bypasses_host_and_ssl_redirect(
    client: Any, settings: Any, host: str
) -> None:
    settings.ROOT_URLCONF = __name__
    response = client.post("/hooks/cron/backup/", HTTP_HOST=host)
    assert response.status_code == 200
    assert body(response) == {"job": "backup", "method": "POST"}
    # Under the prefix, but the view did not ask for the bypass: the full stack runs.
    assert client.post("/hooks/cron/backup/history/", HTTP_HOST=host).status_code == 400
    assert client.post("/hooks/nothing/", HTTP_HOST=host).status_code == 400
    assert client.get("/bare/", HTTP_HOST=host).status_code == 400


@pytest.mark.django_db
def test_cron_prefix_ignores_the_script_name(client: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = __name__
    # The first request computes the prefix, here behind a SCRIPT_NAME.
    response = client.post("/hooks/cron/backup/", HTTP_HOST="app:8000", SCRIPT_NAME="/sub")
    assert response.status_code == 200
    assert client.post("/hooks/cron/backup/", HTTP_HOST="app:8000").status_code == 200


@pytest.mark.django_db
def test_without_the_cron_url_nothing_is_dispatched(client: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = NoCronURLs
    assert client.post("/hooks/cron/backup/", HTTP_HOST="app:8000").status_code == 400


@pytest.mark.django_db
def test_the_real_cron_view_is_dispatched(client: Any) -> None:
    # The project's URLconf includes swarmkit.django.urls under api/: without a
    # key the real view refuses the call, but it is the view that answers, not
    # host validation (400) or the HTTPS redirect (301).
    response = client.post("/api/cron/no-such-job/", HTTP_HOST="app:8000")
    assert response.status_code not in (301, 400)
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.redis.RedisCache",  # redis-py not installed here
        "no.such.CacheBackend",
    ],
)
def test_a_cache_that_cannot_even_be_built_is_a_failed_check(
    client: Any, settings: Any, backend: str
) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:9/0"},
    }
    response = client.get("/api/ready/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 503
    assert body(response)["checks"]["cache:shared"] == "error"
