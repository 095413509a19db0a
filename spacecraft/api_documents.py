"""REST API for operational documents: CRUD, publish, versions, attachments, full-text search."""

from django.http import FileResponse, Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from missionops.api import (
    UserOrganizationField,
    organization_for_create,
    require_role,
    username_field,
    validated_query,
)
from missionops.models import OPERATING_ROLES
from missionops.parsers import LimitedJSONParser

from . import services
from .models import Document, DocumentAttachment, DocumentCategory, DocumentState, DocumentVersion
from .representations import SpacecraftField

READS = ("retrieve", "versions", "attachment")
EDIT_VERBS = {"publish": "publish", "attach": "attach files to"}


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DocumentAttachment
        fields = ["id", "name", "size_bytes", "content_type", "created_at", "download_url"]

    def get_download_url(self, attachment) -> str:
        return f"/api/v1/documents/{attachment.document_id}/attachments/{attachment.pk}/"


class DocumentSerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False)
    spacecraft = SpacecraftField(required=False, allow_null=True)
    category = serializers.ChoiceField(choices=DocumentCategory.choices)
    state = serializers.ChoiceField(choices=DocumentState.choices, read_only=True)
    html = serializers.SerializerMethodField(help_text="The body rendered from markdown, sanitized")
    snippet = serializers.SerializerMethodField(help_text="Highlighted search excerpt (with ?q=)")
    rank = serializers.SerializerMethodField(help_text="Full-text relevance (with ?q=), else null")
    attachments = AttachmentSerializer(many=True, read_only=True)
    created_by = username_field("created_by")

    class Meta:
        model = Document
        fields = [
            "id",
            "organization",
            "spacecraft",
            "category",
            "title",
            "body",
            "html",
            "state",
            "version",
            "published_version",
            "rank",
            "snippet",
            "attachments",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "published_version", "created_at", "updated_at"]

    def get_html(self, document) -> str:
        return services.render_markdown(document.body)

    def get_rank(self, document) -> float | None:
        return getattr(document, "rank", None)

    def get_snippet(self, document) -> str:
        return services.snippet_html(getattr(document, "snippet", ""))


class VersionSerializer(serializers.ModelSerializer):
    created_by = username_field("created_by")

    class Meta:
        model = DocumentVersion
        fields = ["version", "title", "body", "published", "created_by", "created_at"]


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class DocumentListQuery(serializers.Serializer):
    """The list's query; an empty or missing one does not filter (search_documents' defaults)."""

    q = serializers.CharField(
        required=False, trim_whitespace=False, help_text='web-search syntax: words, "phrases", -exclusions, or'
    )
    category = serializers.ChoiceField(choices=DocumentCategory.values, required=False)
    spacecraft = serializers.UUIDField(required=False, help_text="spacecraft UUID")
    state = serializers.ChoiceField(choices=DocumentState.values, required=False)


@extend_schema_view(
    list=extend_schema(
        summary="Documents of your organizations; ?q= ranks by full-text relevance",
        parameters=[DocumentListQuery],
    ),
    create=extend_schema(summary="Create a draft (operator or admin)"),
    partial_update=extend_schema(summary="Edit: a new version, back to draft (operator or admin)"),
    update=extend_schema(summary="Edit: a new version, back to draft (operator or admin)"),
)
class DocumentViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DocumentSerializer
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if self.action == "list":
            visible = services.search_documents(self.request.user, **validated_query(DocumentListQuery, self.request))
        else:
            visible = services.documents_visible_to(self.request.user)
        # Authors and attachments for the whole page at once, not a query per document.
        return visible.select_related("created_by").prefetch_related("attachments")

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if self.action not in READS:
            verb = EDIT_VERBS.get(self.action, "edit")
            require_role(request.user, obj.organization, *OPERATING_ROLES, action=f"{verb} this document")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organization = organization_for_create(
            self.request.user, data.pop("organization", None), roles=OPERATING_ROLES, action="create documents"
        )
        serializer.instance = services.create_document(organization=organization, actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("organization", None)
        serializer.instance = services.edit_document(document=serializer.instance, actor=self.request.user, **data)

    @extend_schema(request=None, responses=DocumentSerializer, summary="Publish the current version")
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        document = services.publish_document(document=self.get_object(), actor=request.user)
        return Response(self.get_serializer(document).data)

    @extend_schema(responses=VersionSerializer(many=True), summary="Every version, newest first (a plain list)")
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        versions = self.get_object().versions.select_related("created_by").order_by("-version")
        return Response(VersionSerializer(versions, many=True).data)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: AttachmentSerializer},
        summary="Attach a file (operator or admin)",
    )
    @action(detail=True, methods=["post"], url_path="attachments")
    def attach(self, request, pk=None):
        document = self.get_object()
        upload = UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        attachment = services.attach_file(document=document, upload=upload.validated_data["file"], actor=request.user)
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): bytes}, summary="Download an attachment")
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)")
    def attachment(self, request, pk=None, attachment_id=None):
        document = self.get_object()
        attachment = document.attachments.filter(pk=attachment_id).first()
        if attachment is None:
            raise Http404
        return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)
