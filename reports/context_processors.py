"""`report_access` in every template rendered with a request: the admin's header and the
staff pages' top bar link to the reports or to one's achievements by `reports.access`."""

from reports.access import ReportAccess


def report_access(request):
    # request.user stays lazy: a page that never asks loads no user for this.
    return {"report_access": ReportAccess(getattr(request, "user", None))}
