"""The rating alerts (N1–N5), view only: each alert with its cancellation, and its deliveries
with their attempts and last error, as the webhooks' deliveries are shown."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q

from conversations.adminkit import ViewOnly, conversation_link, short_time
from ratings.admin.records import ViewOnlyAdmin, _reaction_label
from ratings.models import AlertDelivery, RatingAlert


class AlertDeliveryInline(ViewOnly, admin.TabularInline):
    model = AlertDelivery
    extra = 0
    fields = (
        "user",
        "role",
        "delivered_at",
        "delivery_attempts",
        "last_attempt_at",
        "last_error",
        "skipped",
    )
    readonly_fields = fields


@admin.register(RatingAlert)
class RatingAlertAdmin(ViewOnlyAdmin):
    list_display = (
        "created",
        "conversation_column",
        "kind",
        "reaction_column",
        "state",
        "deliveries_column",
    )
    list_filter = ("kind", "value")
    list_select_related = ("request",)
    date_hierarchy = "created_at"
    fields = (
        "request",
        "rating",
        "kind",
        "value",
        "created_at",
        "due_at",
        "fanned_out_at",
        "cancelled_at",
        "cancel_reason",
    )
    inlines = [AlertDeliveryInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                sent=Count("deliveries", filter=Q(deliveries__delivered_at__isnull=False)),
                to=Count("deliveries"),
            )
        )

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return short_time(obj.created_at)

    @admin.display(description="Conversation")
    def conversation_column(self, obj):
        return conversation_link(obj.request.conversation_id)

    @admin.display(description="Rating", ordering="value")
    def reaction_column(self, obj):
        return _reaction_label(obj.value)

    @admin.display(description="State")
    def state(self, obj):
        if obj.cancelled_at:
            return f"Cancelled: {obj.cancel_reason}"
        if obj.fanned_out_at:
            return "Sent" if obj.sent == obj.to else "Sending"
        return "Waiting"

    @admin.display(description="Emails sent")
    def deliveries_column(self, obj):
        return f"{obj.sent} of {obj.to}"
