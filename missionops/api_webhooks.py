"""REST API for webhooks (organization admins) and their delivery log."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from .api import NewestFirstCursorPagination, UserOrganizationField, organization_for_create
from .models import Webhook, WebhookDelivery
from .services import webhooks
from .tenancy import admin_organizations


class WebhookSerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False)
    event_kinds = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False)
    secret = serializers.CharField(read_only=True, help_text="HMAC-SHA256 key for X-MissionOps-Signature")

    class Meta:
        model = Webhook
        fields = [
            "id",
            "organization",
            "name",
            "url",
            "event_kinds",
            "is_active",
            "secret",
            "consecutive_failures",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = ["consecutive_failures", "disabled_reason", "created_at"]


class DeliverySerializer(serializers.ModelSerializer):
    event_kind = serializers.CharField(source="event.kind", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_kind",
            "state",
            "attempts",
            "status_code",
            "latency_ms",
            "response_excerpt",
            "error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
        ]


class WebhookViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhooks are managed by organization admins; other members don't see them (they hold secrets)."""

    serializer_class = WebhookSerializer
    required_scope = "admin"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Webhook.objects.none()
        return Webhook.objects.filter(organization__in=admin_organizations(self.request.user)).select_related(
            "organization"
        )

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organization = organization_for_create(self.request.user, data.pop("organization", None))
        data.pop("is_active", None)
        serializer.instance = webhooks.create_webhook(organization=organization, actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "organization" in data and data.pop("organization") != serializer.instance.organization:
            raise PermissionDenied("a webhook cannot move between organizations")
        serializer.instance = webhooks.update_webhook(webhook=serializer.instance, actor=self.request.user, **data)

    @extend_schema(request=None, responses={202: DeliverySerializer}, summary="Send a webhook.test event now")
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = webhooks.send_test(webhook=self.get_object(), actor=request.user)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses=DeliverySerializer(many=True),
        summary="Delivery log, newest first (cursor pagination: `next`/`previous`, no count)",
    )
    @action(detail=True, methods=["get"], pagination_class=NewestFirstCursorPagination)
    def deliveries(self, request, pk=None):
        page = self.paginate_queryset(self.get_object().deliveries.select_related("event"))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer},
        summary="Send a dead-lettered (or succeeded) delivery again, same Idempotency-Key",
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        delivery = self.get_object().deliveries.filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(f"webhook {pk} has no delivery {delivery_id}")
        delivery = webhooks.redeliver(delivery=delivery, actor=request.user)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
