from django.contrib import admin
from django.urls import include, path

from csat_project.views import healthz

admin.site.site_header = "csat — conversation ratings"
admin.site.site_title = "csat"
admin.site.index_title = "Inbox and settings"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("ratings.urls")),
]
