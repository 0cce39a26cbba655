"""The example cron job, called through the real endpoint as the scheduler calls it."""

import datetime as dt

import pytest
from django.utils import timezone
from swarmkit.django.cron import get_job

from visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)

ENDPOINT = "/api/cron/purge_visits/"


@pytest.fixture
def auth(settings):
    return {"HTTP_AUTHORIZATION": f"Bearer {settings.SWARMKIT_CRON_API_KEY}"}


def visit(path, age):
    made = Visit.objects.create(path=path)
    Visit.objects.filter(pk=made.pk).update(created_at=timezone.now() - age)


def test_purge_visits_deletes_old_visits_only(client, auth):
    visit("/old", dt.timedelta(days=31))
    visit("/recent", dt.timedelta(days=29))
    # The scheduler calls the app directly: plain HTTP, Host app:8000.
    response = client.post(ENDPOINT, HTTP_HOST="app:8000", **auth)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "succeeded"
    assert list(Visit.objects.values_list("path", flat=True)) == ["/recent"]


def test_a_scheduled_slot_runs_once(client, auth):
    slot = get_job("purge_visits").latest_slot(timezone.now())
    url = f"{ENDPOINT}?slot={slot:%Y-%m-%dT%H:%M:%SZ}"
    first = client.post(url, HTTP_HOST="app:8000", **auth)
    assert first.status_code == 200, first.content
    again = client.post(url, HTTP_HOST="app:8000", **auth)
    assert again.status_code == 409
    assert again.json()["reason"] == "done"


def test_the_endpoint_wants_the_api_key(client):
    assert client.post(ENDPOINT, HTTP_HOST="app:8000").status_code == 401
    wrong = {"HTTP_AUTHORIZATION": "Bearer not-the-key"}
    assert client.post(ENDPOINT, HTTP_HOST="app:8000", **wrong).status_code == 401
