"""Request checks that hold for every page, the admin and the API."""

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "The address contains a NUL character (%00), which is not allowed."
# K15: the addresses that answer JSON `{code, message, fields}` (the API, api.errors, and the
# Messenger widget's endpoints), so a body over the limit is refused in that shape there.
JSON_PATHS = ("/api/", "/messenger/w/")


def too_large_message() -> str:
    return (
        "The request body is larger than the "
        f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes this address takes."
    )


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RefuseNulMiddleware:
    """A NUL character (%00) in the query string is refused with a 400 before any view runs:
    PostgreSQL cannot compare text with it (the admin's list filters would fail with a 500),
    and no field of the product holds one. Forms and the API refuse it in their bodies.

    K15: it also refuses a body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE posted to an
    address that answers JSON (JSON_PATHS): a 413 `{code: "too_large", message, fields}` before
    anything reads it. Django would answer its HTML 400 page (RequestDataTooBig) where a view
    reads the body, and the API's parser reads the stream past Django's limit. Elsewhere
    Django's page stays."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(JSON_PATHS) and _declared_length(request) > (
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE or float("inf")
        ):
            return JsonResponse(
                {"code": "too_large", "message": too_large_message(), "fields": {}}, status=413
            )
        if any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):  # the API's one error shape (api.errors)
                return JsonResponse(
                    {"code": "invalid", "message": NUL_MESSAGE, "fields": {}}, status=400
                )
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """K10d: the `Permissions-Policy` header on every response (PERMISSIONS_POLICY): camera,
    microphone, geolocation, payment, USB and the other powerful features are off for every
    page and every frame in it. Django has no setting of its own for this header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
        return response
