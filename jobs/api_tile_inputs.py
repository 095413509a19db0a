"""REST API of uploaded tile inputs (.npz band arrays a tile job reads with `params.input`):
list, upload (multipart), retrieve, delete. Scoped and permitted like the jobs endpoints."""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from missionops.api import NewestFirstCursorPagination, organization_for_create, require_role, username_field
from missionops.filters import ScopedFilterSet
from missionops.models import OPERATING_ROLES

from . import selectors
from .api import OrganizationSlugField
from .models import TileInput
from .services import tile_inputs
from .workloads.npz import MAX_SIDE_PX


class TileInputSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = username_field("created_by")
    bands = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = TileInput
        fields = [
            "id", "organization", "name", "bands", "height_px", "width_px", "dtype", "scale", "size_bytes",
            "sha256", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class TileInputUploadSerializer(serializers.Serializer):
    organization = OrganizationSlugField(required=False, help_text="Organization slug; defaults to your only one.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="default: from the file")
    file = serializers.FileField(
        help_text=(
            "NumPy .npz (numpy.savez / savez_compressed) with 2-D arrays blue, green, red, nir of one shape "
            f"(at most {MAX_SIDE_PX} px a side) and one dtype: float reflectance in [0, 1.6], or uint8 / uint16 "
            "with `scale`. Read without pickle."
        )
    )
    scale = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="integer bands only: reflectance = value / scale (e.g. 10000 for uint16 surface reflectance)",
    )


class TileInputFilter(ScopedFilterSet):
    organization = django_filters.CharFilter(field_name="organization__slug")

    class Meta:
        model = TileInput
        fields = ["organization"]


@extend_schema_view(
    list=extend_schema(summary="Uploaded tile inputs of your organizations, newest first (cursor pagination)"),
    retrieve=extend_schema(summary="One uploaded tile input"),
    create=extend_schema(
        summary="Upload a .npz band array for tile jobs (`params.input`; operator or admin)",
        request={"multipart/form-data": TileInputUploadSerializer},
        responses={201: TileInputSerializer, 400: OpenApiResponse(description="bad file or scale; `field` names it")},
    ),
    destroy=extend_schema(
        summary="Delete an input (operator or admin); 409 while an open job or a template names it",
        responses={204: None, 409: OpenApiResponse(description="still the input of an open job or a template")},
    ),
)
class TileInputViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TileInputSerializer
    filterset_class = TileInputFilter
    pagination_class = NewestFirstCursorPagination
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.tile_inputs_visible_to(self.request.user).select_related("organization", "created_by")

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if self.action == "destroy":
            require_role(request.user, obj.organization, *OPERATING_ROLES, action="delete this tile input")

    def create(self, request, *args, **kwargs):
        serializer = TileInputUploadSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = organization_for_create(
            request.user, data.get("organization"), roles=OPERATING_ROLES, action="upload tile inputs"
        )
        upload = data["file"]
        tile_inputs.check_upload_size(upload.size)  # before reading an oversized file into memory
        tile_input = tile_inputs.create_tile_input(
            organization=organization,
            actor=request.user,
            data=upload.read(),
            name=data.get("name") or upload.name.rsplit("/", 1)[-1].removesuffix(".npz"),
            scale=data.get("scale"),
        )
        return Response(self.get_serializer(tile_input).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        tile_inputs.delete_tile_input(tile_input=instance, actor=self.request.user)
