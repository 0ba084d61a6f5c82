"""The product's URLs plus `/bench/ok`, a bare Django view (no database, no template): the
reference the rating-click rate is compared with, under the same gunicorn and middleware."""

from django.http import HttpResponse
from django.urls import include, path


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/ok", bare, name="bench-ok"),
    path("", include("csat_project.urls")),
]
