"""`manage.py figures_rebuild`: recompute the reports' daily figures from the requests and
ratings (after a change of TIME_ZONE, or rows written around the services)."""

from django.core.management.base import BaseCommand

from ratings.figures import figures_rebuild


class Command(BaseCommand):
    help = "Recompute the daily figures the report pages add up, from requests and ratings."

    def handle(self, *args, **options):
        figures, reasons = figures_rebuild()
        self.stdout.write(f"Daily figures rebuilt: {figures} day rows, {reasons} reason rows.")
