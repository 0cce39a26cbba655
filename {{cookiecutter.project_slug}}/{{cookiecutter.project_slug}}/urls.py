"""URLs: the example page, swarmkit's cron endpoint and the admin.

The probes (``/api/alive/``, ``/api/ready/``) need no entry here:
``ProbeMiddleware`` answers them before any other middleware runs.
"""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("visits.urls")),
    # POST api/cron/<job>/, called by the scheduler service with the cron API key.
    path("api/", include("swarmkit.django.urls")),
    path("admin/", admin.site.urls),
]

# Uploaded files are served by Django only in local development (DEBUG); see
# MEDIA_ROOT in settings.py for production.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
