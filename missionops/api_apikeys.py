"""REST API for API keys (organization admins): create (key shown once), rotate, revoke."""

from datetime import timedelta

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .api import UserOrganizationField, organization_for_create, username_field
from .models import ApiKey, ApiScope
from .services import apikeys
from .tenancy import admin_organizations


class ApiKeySerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiScope.choices), allow_empty=False)
    replaced_by = serializers.SlugRelatedField(slug_field="prefix", read_only=True, allow_null=True)
    created_by = username_field("created_by")

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "organization",
            "name",
            "prefix",
            "scopes",
            "created_by",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "replaced_by",
        ]
        read_only_fields = ["prefix", "created_at", "revoked_at", "last_used_at"]


class IssuedKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The key itself: shown this once, stored only hashed")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class RotateSerializer(serializers.Serializer):
    grace_hours = serializers.FloatField(min_value=0, max_value=24 * 30, default=24)


class ApiKeyViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ApiKeySerializer
    required_scope = ApiScope.ADMIN

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.objects.none()
        return ApiKey.objects.filter(organization__in=admin_organizations(self.request.user)).select_related(
            "organization", "replaced_by", "created_by"
        )

    def _issued(self, key, plaintext, code):
        data = IssuedKeySerializer(key, context=self.get_serializer_context()).data
        data["key"] = plaintext
        return Response(data, status=code)

    @extend_schema(
        responses={201: IssuedKeySerializer},
        summary="Issue a key (organization admin); the key is in this response only",
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = organization_for_create(request.user, data.pop("organization", None))
        key, plaintext = apikeys.create_api_key(organization=organization, actor=request.user, **data)
        return self._issued(key, plaintext, status.HTTP_201_CREATED)

    @extend_schema(
        request=RotateSerializer,
        responses={201: IssuedKeySerializer},
        summary="Rotate: a new key; this one stays valid for the grace period",
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        body = RotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new_key, plaintext = apikeys.rotate_api_key(
            key=self.get_object(), actor=request.user, grace=timedelta(hours=body.validated_data["grace_hours"])
        )
        return self._issued(new_key, plaintext, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer, summary="Revoke now")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = apikeys.revoke_api_key(key=self.get_object(), actor=request.user)
        return Response(self.get_serializer(key).data)
