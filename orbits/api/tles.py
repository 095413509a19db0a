"""Element sets: their history, and TLE / OMM import."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from missionops.api import UserOrganizationField, organization_for_create
from missionops.filters import IntegerFilter, ScopedFilterSet
from missionops.models import OPERATING_ROLES, Role
from missionops.parsers import LimitedJSONParser

from .. import selectors, services
from ..models import TLE

MAX_UPLOAD_BYTES = 5_000_000


class TLESerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)

    class Meta:
        model = TLE
        fields = [
            "id",
            "spacecraft",
            "designation",
            "norad_id",
            "object_name",
            "epoch",
            "line1",
            "line2",
            "format",
            "source",
            "created_at",
        ]


@extend_schema_field(OpenApiTypes.STR)
class OrganizationSlugField(UserOrganizationField):
    pass


class TLEImportSerializer(serializers.Serializer):
    organization = OrganizationSlugField(required=False, help_text="Organization slug; defaults to your only one.")
    text = serializers.CharField(required=False, trim_whitespace=False, help_text="2-/3-line TLE text or OMM JSON")
    file = serializers.FileField(required=False, help_text="a TLE text or OMM JSON file")
    create_missing = serializers.BooleanField(default=False, help_text="register unknown NORAD ids (admin)")

    def validate(self, attrs):
        if bool(attrs.get("text")) == bool(attrs.get("file")):
            raise serializers.ValidationError({"text": ["give exactly one of text or file"]})
        upload = attrs.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                raise serializers.ValidationError({"file": [f"larger than {MAX_UPLOAD_BYTES} bytes"]})
            try:
                attrs["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise serializers.ValidationError({"file": ["not UTF-8 text"]}) from None
            attrs["source"] = f"upload {upload.name}"[:300]
        else:
            attrs["source"] = "api"
        return attrs


class ImportItemSerializer(serializers.Serializer):
    location = serializers.CharField(help_text="'lines 4-6' or 'record 2'")
    norad_id = serializers.IntegerField(required=False)
    spacecraft = serializers.UUIDField(required=False)
    epoch = serializers.DateTimeField(required=False)
    id = serializers.IntegerField(required=False)
    reason = serializers.CharField(required=False, help_text="why refused (names line and column)")
    line = serializers.IntegerField(required=False)
    column = serializers.IntegerField(required=False)
    field = serializers.CharField(required=False, help_text="the OMM field at fault")


class ImportReportSerializer(serializers.Serializer):
    imported = ImportItemSerializer(many=True)
    unchanged = ImportItemSerializer(many=True)
    refused = ImportItemSerializer(many=True)
    created_spacecraft = serializers.ListField(child=serializers.CharField())


class TLEFilter(ScopedFilterSet):
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    norad_id = IntegerFilter()

    class Meta:
        model = TLE
        fields = ["spacecraft", "norad_id"]


@extend_schema_view(
    list=extend_schema(summary="Element sets of your spacecraft, newest epoch first (history)"),
    retrieve=extend_schema(summary="One element set"),
)
class TLEViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = TLESerializer
    filterset_class = TLEFilter
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.tles_visible_to(self.request.user).order_by("spacecraft_id", "-epoch")

    @extend_schema(
        summary="Import TLE / OMM element sets (operator); lists what was imported and what was refused",
        request={"application/json": TLEImportSerializer, "multipart/form-data": TLEImportSerializer},
        responses={201: ImportReportSerializer, 200: ImportReportSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = TLEImportSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["create_missing"]:
            roles, action = (Role.ADMIN,), "import TLEs that register new spacecraft (create_missing)"
        else:
            roles, action = OPERATING_ROLES, "import TLEs"
        organization = organization_for_create(request.user, data.get("organization"), roles=roles, action=action)
        report = services.import_tles(
            organization=organization,
            text=data["text"],
            source=data["source"],
            actor=request.user,
            create_missing=data["create_missing"],
        )
        code = status.HTTP_201_CREATED if report.imported else status.HTTP_200_OK
        return Response(report.as_dict(), status=code)
