"""Post-processing of the generated schema."""


def forbid_unknown_request_fields(result, generator, request, public):
    """Request bodies refuse keys they do not name (api.fields.RejectUnknownKeys): say so in
    the schema, so that clients (and tools that generate requests from it) know it."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
