"""The product's URLs plus `/bench/reports-floor/`, the floor of `bench/reports.py`: an empty
page through what every report page goes through before its own work — login and the reports'
permission (`reports.views.manager_required`), the session and the middleware, and the
reports' base template (`base.html`, with its context processors: the top bar, the
navigation, the messages) with nothing in its content block."""

from django.shortcuts import render
from django.urls import include, path
from django.views.decorators.http import require_safe

from reports.views import manager_required


@require_safe
@manager_required
def floor(request):
    return render(request, "base.html", {"page": "floor"})


urlpatterns = [
    path("bench/reports-floor/", floor, name="bench-reports-floor"),
    path("", include("csat_project.urls")),
]
