import pytest

from visits.models import Visit

RELEASE = "release-3f9c2a1e"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _release(settings):
    settings.APP_VERSION = RELEASE


def test_the_page_records_each_visit_and_shows_the_count(client):
    first = client.get("/", secure=True)
    assert first.status_code == 200
    assert first.context["count"] == 1

    second = client.get("/", secure=True)
    assert second.context["count"] == 2
    assert b'<p class="count" id="visit-count">2</p>' in second.content
    assert Visit.objects.count() == 2
    assert second["Cache-Control"].startswith("max-age=0")


def test_the_page_shows_the_release(client):
    response = client.get("/", secure=True)
    assert f'<code id="app-version">{RELEASE}</code>'.encode() in response.content


def test_the_page_only_answers_reads(client):
    assert client.post("/", secure=True).status_code == 405
    assert Visit.objects.count() == 0


def test_plain_http_is_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.parametrize(("path", "status"), [("/api/alive/", "alive"), ("/api/ready/", "ready")])
def test_the_probes_answer_from_inside_the_container(client, settings, path, status):
    # Swarm's healthcheck: plain HTTP, Host 127.0.0.1:8000 (not an allowed host).
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path, HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == status
    assert RELEASE.encode() not in response.content
    assert "app_version" not in response.content.decode().lower()
    assert Visit.objects.count() == 0


def test_alive_answers_after_a_ready_check(client):
    assert client.get("/api/ready/", HTTP_HOST="127.0.0.1:8000").status_code == 200
    response = client.get("/api/alive/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
