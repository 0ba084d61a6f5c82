from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`manage.py seed_demo`). The top floor: it drives the conversations and ratings
    apps through their services, and nothing imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
