"""Contacts and teammates."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.people import (
    ContactCreateSerializer,
    ContactErasedSerializer,
    ContactQuerySerializer,
    ContactSerializer,
    ContactUpdateSerializer,
    TeammateSerializer,
)
from api.views.base import PaginatedList, validated
from conversations import services as conversation_services
from conversations.models import Contact, Teammate
from ratings import services as rating_services


@extend_schema(tags=["contacts"])
class ContactList(PaginatedList):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    query_serializer_class = ContactQuerySerializer
    required_perms = {
        "GET": ["conversations.view_contact"],
        "POST": ["conversations.add_contact"],
    }

    def filtered(self, queryset, query):
        if query.get("email"):
            queryset = queryset.filter(email__icontains=query["email"].strip())
        return queryset

    @extend_schema(summary="List contacts", parameters=[ContactQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a contact",
        request=ContactCreateSerializer,
        responses={201: ContactSerializer},
    )
    def post(self, request):
        data = validated(ContactCreateSerializer, request.data)
        contact = conversation_services.contact_create(**data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["contacts"])
class ContactDetail(generics.RetrieveAPIView):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    lookup_url_kwarg = "id"
    required_perms = {
        "GET": ["conversations.view_contact"],
        "PATCH": ["conversations.change_contact"],
    }

    @extend_schema(summary="Read a contact")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Change a contact's language (L1)",
        request=ContactUpdateSerializer,
        responses={200: ContactSerializer},
    )
    def patch(self, request, *args, **kwargs):
        contact = self.get_object()
        data = validated(ContactUpdateSerializer, request.data)
        contact = conversation_services.contact_language_set(
            contact=contact, language=data["language"]
        )
        return Response(ContactSerializer(contact).data)


@extend_schema(
    tags=["contacts"],
    summary="Erase a contact's personal data",
    description="G1–G3: the contact's name, email, Messenger identity, message bodies, "
    "rating comments and reasons are replaced by a placeholder; their rating links and "
    "Messenger sessions stop working; rating values and report figures stay. Answers the "
    "contact as it is now and the audit row. A contact erased already is a 400 with the "
    "code `erased`.",
    request=None,
    responses={200: ContactErasedSerializer},
)
class ContactErase(APIView):
    required_perms = {"POST": ["conversations.view_contact", "ratings.add_erasure"]}

    def post(self, request, id):
        contact = get_object_or_404(Contact, pk=id)
        erasure = rating_services.contact_erase(contact=contact, by=request.user)
        body = {"contact": contact, "erasure": erasure}
        return Response(ContactErasedSerializer(body).data)


@extend_schema(tags=["teammates"], summary="List teammates")
class TeammateList(PaginatedList):
    queryset = Teammate.objects.select_related("user")
    serializer_class = TeammateSerializer
    required_perms = {"GET": ["conversations.view_teammate"]}


@extend_schema(tags=["teammates"], summary="Read a teammate")
class TeammateDetail(generics.RetrieveAPIView):
    queryset = Teammate.objects.select_related("user")
    serializer_class = TeammateSerializer
    lookup_url_kwarg = "id"
    required_perms = {"GET": ["conversations.view_teammate"]}
