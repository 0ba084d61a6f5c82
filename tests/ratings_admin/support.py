"""Constants and helpers shared by the modules of this package."""

PASSWORD = "a-long-test-password-42"
