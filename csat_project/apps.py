"""The project's app configurations."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """Django's admin, whose default site (`admin.site`, where every app registers) is the
    sign-in's (K8: the second factor checked before any admin page)."""

    default_site = "csat_project.signin.AdminSite"
