"""REST API of job templates: saved specs, optionally on a cron schedule, and jobs submitted from them."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import organization_for_create, require_role
from missionops.models import OPERATING_ROLES

from . import selectors, services
from .api import OrganizationSlugField
from .models import JobKind
from .representations import JobSerializer
from .services import cron_of


class JobTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    organization = OrganizationSlugField(required=False)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=JobKind.choices)
    params = serializers.JSONField(required=False, default=dict)
    priority = serializers.IntegerField(required=False, default=0, min_value=-100, max_value=100)
    max_attempts = serializers.IntegerField(required=False, default=3, min_value=1, max_value=20)
    footprint = serializers.JSONField(required=False, allow_null=True, default=None)
    cron = serializers.CharField(
        required=False, allow_blank=True, help_text="5-field cron (UTC) to submit it on a schedule; blank: none"
    )
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, template):
        data = super().to_representation(template)
        data["organization"] = template.organization.slug
        data["cron"] = cron_of(template)
        return data


class TemplateSubmitSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    priority = serializers.IntegerField(required=False, min_value=-100, max_value=100)
    params = serializers.DictField(required=False, help_text="overrides merged into the template's params")


@extend_schema_view(
    list=extend_schema(summary="Saved job templates"),
    create=extend_schema(summary="Save a template, optionally with a cron schedule (operator or admin)"),
    partial_update=extend_schema(summary="Change a template or its schedule"),
    update=extend_schema(summary="Replace a template"),
    destroy=extend_schema(summary="Delete a template and its schedule"),
)
class JobTemplateViewSet(viewsets.ModelViewSet):
    serializer_class = JobTemplateSerializer
    pagination_class = None

    def get_queryset(self):
        return (
            selectors.templates_visible_to(self.request.user)
            .select_related("organization", "periodic_task__crontab")
            .order_by("name")
        )

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            verb = {"submit": "submit jobs from", "destroy": "delete"}.get(self.action, "change")
            require_role(request.user, obj.organization, *OPERATING_ROLES, action=f"{verb} this template")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organization = organization_for_create(
            self.request.user, data.pop("organization", None), roles=OPERATING_ROLES, action="save job templates"
        )
        serializer.instance = services.save_template(organization=organization, actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("organization", None)
        template = serializer.instance
        serializer.instance = services.save_template(
            organization=template.organization, actor=self.request.user, template=template, **data
        )

    def perform_destroy(self, instance):
        services.delete_template(template=instance, actor=self.request.user)

    @extend_schema(request=TemplateSubmitSerializer, responses={201: JobSerializer}, summary="Submit a job from it")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        template = self.get_object()  # operator or admin: check_object_permissions (POST)
        serializer = TemplateSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.submit_from_template(template=template, actor=request.user, overrides=serializer.validated_data)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)
