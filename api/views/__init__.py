"""The REST API's views, one module per resource; `api.urls` maps them to addresses.

Each view parses its input with a strict serializer, calls one service or selector and renders
the result. The rules live in the domain (`conversations.services`, `ratings.*`,
`reports.selectors`), exactly as for the admin and the pages, so the API refuses what they
refuse (as a 4xx in the one error shape, api.errors) and sends the same signals.
"""
