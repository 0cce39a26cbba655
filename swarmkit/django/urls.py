"""URLs of the swarmkit app: ``path("api/", include("swarmkit.django.urls"))``.

Gives ``POST api/cron/<job>/`` (URL name ``swarmkit:cron``). The probes need
no URL: ``ProbeMiddleware`` answers them.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from swarmkit.django import views

__all__ = ["app_name", "urlpatterns"]

app_name = "swarmkit"
urlpatterns: list[URLPattern] = [
    path("cron/<str:job>/", views.cron_view, name="cron"),
]
