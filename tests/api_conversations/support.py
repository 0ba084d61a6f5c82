"""Constants and helpers shared by the modules of this package."""

URL = "/api/v1/conversations/"
