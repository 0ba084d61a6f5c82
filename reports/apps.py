from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    def ready(self):
        from ratings.alerts import managers_register
        from reports.access import managers

        # N4: the managers who hear of low ratings are those who may read the reports.
        managers_register(managers)
