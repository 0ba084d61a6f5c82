"""Webhooks and their deliveries."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics

from api.models import Webhook, WebhookDelivery
from api.serializers.webhooks import WebhookDeliverySerializer, WebhookSerializer
from api.views.base import PaginatedList, found_or_404


@extend_schema(tags=["webhooks"])
class WebhookList(generics.ListCreateAPIView):
    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    required_perms = {"GET": ["api.view_webhook"], "POST": ["api.add_webhook"]}

    @extend_schema(summary="List webhooks")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Register a webhook")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


@extend_schema(tags=["webhooks"])
class WebhookDetail(generics.RetrieveUpdateDestroyAPIView):
    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    lookup_url_kwarg = "id"
    http_method_names = ["get", "patch", "delete", "head", "options"]
    required_perms = {
        "GET": ["api.view_webhook"],
        "PATCH": ["api.change_webhook"],
        "DELETE": ["api.delete_webhook"],
    }

    @extend_schema(summary="Read a webhook")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Change a webhook")
    def patch(self, request, *args, **kwargs):
        return super().patch(request, *args, **kwargs)

    @extend_schema(summary="Remove a webhook (and its delivery records)")
    def delete(self, request, *args, **kwargs):
        return super().delete(request, *args, **kwargs)


@extend_schema(tags=["webhooks"], summary="A webhook's deliveries and their outcomes")
class WebhookDeliveryList(PaginatedList):
    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    required_perms = {"GET": ["api.view_webhookdelivery"]}

    def filtered(self, queryset, query):
        webhook = found_or_404(Webhook.objects.all(), self.kwargs["id"], "webhook")
        return queryset.filter(webhook=webhook)
