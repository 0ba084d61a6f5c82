from datetime import timedelta

from django.db import DatabaseError, connection
from django.db.models import Max
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_q.models import Task

# The wake schedule runs every minute, so a live worker leaves a finished task that often.
WORKER_FRESH = timedelta(minutes=5)


@never_cache
def healthz(request):
    """200 when the database answers; says when a task worker last finished a task."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        last_seen = Task.objects.aggregate(last=Max("stopped"))["last"]
    except DatabaseError as error:
        return JsonResponse({"database": "unreachable", "error": str(error)}, status=503)
    fresh = last_seen is not None and timezone.now() - last_seen <= WORKER_FRESH
    return JsonResponse(
        {
            "database": "ok",
            "worker_last_seen": last_seen.isoformat() if last_seen else None,
            "worker": "ok" if fresh else "not seen in the last 5 minutes",
        }
    )
