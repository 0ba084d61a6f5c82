"""Reports own no data; this model only carries their permission."""

from django.db import models


class ReportAccess(models.Model):
    """Holder of the `reports.view_reports` permission (no table)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", "Can view the CSAT reports")]

    def __str__(self):
        return "Reports"
