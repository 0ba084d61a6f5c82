from django.apps import AppConfig


class MessengerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messenger"
    verbose_name = "Messenger"

    def ready(self):
        from messenger import checks  # noqa: F401 - registers the system checks
