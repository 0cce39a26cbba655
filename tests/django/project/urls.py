from __future__ import annotations

import os

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    """The limit the probes are measured against: a view that returns "ok"."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("swarmkit.django.urls")),
    path("bare/", bare),
]
if "health_check" in os.environ.get("TEST_EXTRA_APPS", ""):
    # django-health-check 4.x has no urls module: a view configured with its checks.
    from health_check.views import HealthCheckView

    urlpatterns.append(
        path("ht/", HealthCheckView.as_view(checks=["health_check.checks.Database"]))
    )
if "alive" in os.environ.get("TEST_EXTRA_APPS", ""):
    urlpatterns.append(path("-/", include("django_alive.urls")))
