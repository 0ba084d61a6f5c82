"""Constants and helpers shared by the modules of this package."""

from django.urls import reverse

SUMMARY = reverse("reports:summary")


TEAMMATES = reverse("reports:teammates")


COMMENTS = reverse("reports:comments")
