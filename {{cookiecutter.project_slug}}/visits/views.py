from django.conf import settings
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from visits.models import Visit


@require_safe
@never_cache
def index(request):
    """Record this visit, read the count back and show it with the release."""
    Visit.objects.create(path=request.path[:200])
    context = {"count": Visit.objects.count(), "app_version": settings.APP_VERSION}
    return render(request, "visits/index.html", context)
