"""The OpenAPI schema: drf-spectacular's, with the error answers of every operation documented
in the one error shape (api.errors), so that a client knows every status
an operation may answer."""

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

ERROR_WORDS = {
    400: "The request is not valid: see `fields`, or the service's refusal in `message`.",
    401: "No credentials, or credentials that are not valid.",
    403: "The credentials do not allow this.",
    404: "Not found.",
    409: "It conflicts with the current state.",
    422: "The Idempotency-Key was used with another body.",
    429: "Too many requests: try again later (see Retry-After).",
}


class ApiAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        from api.serializers.common import ErrorSerializer

        parameters = operation.get("parameters", [])
        extra = getattr(self.view, "error_statuses", ())  # codes, or {method: codes}
        codes = set(extra.get(method.upper(), ()) if isinstance(extra, dict) else extra)
        writes = method.upper() in ("POST", "PUT", "PATCH")
        if writes or any(p["in"] in ("query", "header") for p in parameters):
            codes.add(400)
        if any(p["in"] == "path" for p in parameters) or any(
            p["name"] == "cursor" for p in parameters
        ):
            codes.add(404)
        public = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        if not public:
            codes.update((401, 403))
        if self.view.get_throttles():
            codes.add(429)
        responses = operation["responses"]
        for code in sorted(codes):
            if str(code) not in responses:
                response = self._get_response_for_code(ErrorSerializer, str(code))
                response["description"] = ERROR_WORDS[code]
                responses[str(code)] = response
        operation["responses"] = dict(sorted(responses.items()))
        return operation
