"""Request checks that hold for every page, the admin and the API."""

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "The address contains a NUL character (%00), which is not allowed."


class RefuseNulMiddleware:
    """A NUL character (%00) in the query string is refused with a 400 before any view runs:
    PostgreSQL cannot compare text with it (the admin's list filters would fail with a 500),
    and no field of the product holds one. Forms and the API refuse it in their bodies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
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
