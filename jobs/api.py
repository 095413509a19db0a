"""REST API of the jobs: single and batch create, filters, cancel, retry, bulk, logs, artifacts.
GPUs, templates, usage and tile inputs are in the api_* modules beside it. Viewsets call services
and selectors, nothing more."""

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import (
    NewestFirstCursorPagination,
    RoleRequired,
    StringField,
    UserOrganizationField,
    organization_for_create,
    require_role,
    roles_text,
    validated_query,
)
from missionops.models import OPERATING_ROLES
from missionops.tenancy import roles_by_organization

from . import selectors, services
from .exceptions import JobStateError, QuotaExceeded
from .filters import JobFilter
from .models import Job, JobArtifact, JobKind, JobLog, JobState
from .representations import JobLogSerializer, JobSerializer

JOB_VERBS = {"destroy": "delete", "cancel": "cancel", "retry": "retry"}


@extend_schema_field(OpenApiTypes.STR)
class OrganizationSlugField(UserOrganizationField):
    """An organization slug among the caller's own (typed for the schema)."""


class JobSpecSerializer(serializers.Serializer):
    """One job to create. `params` are checked by the kind (400 names `params.<key>`)."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    kind = serializers.ChoiceField(choices=JobKind.choices)
    params = serializers.JSONField(required=False, default=dict)
    priority = serializers.IntegerField(required=False, default=0, min_value=-100, max_value=100)
    max_attempts = serializers.IntegerField(required=False, default=3, min_value=1, max_value=20)
    footprint = serializers.JSONField(required=False, allow_null=True, default=None, help_text="GeoJSON Polygon")
    parents = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=100)


class JobCreateSerializer(JobSpecSerializer):
    organization = OrganizationSlugField(required=False, help_text="Organization slug; defaults to your only one.")


class JobBatchSerializer(serializers.Serializer):
    organization = OrganizationSlugField(required=False)
    jobs = JobSpecSerializer(many=True, allow_empty=False, max_length=services.MAX_BATCH)


class BulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["cancel", "retry", "delete"])
    ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=1000)


class BulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    done = serializers.ListField(child=serializers.IntegerField())
    skipped = serializers.DictField(child=serializers.CharField(), help_text="id -> why")


JobCountsSerializer = type(
    "JobCountsSerializer",
    (serializers.Serializer,),
    {state: serializers.IntegerField(help_text=f"{label} jobs") for state, label in JobState.choices},
)


class JobCancelSerializer(serializers.Serializer):
    # Not trimmed before the length check: the schema's maxLength is of the string sent.
    reason = StringField(required=False, allow_blank=True, max_length=300, trim_whitespace=False)


class JobLogsQuery(serializers.Serializer):
    after = serializers.IntegerField(
        default=0, min_value=0, max_value=2**63 - 1, help_text="only lines with id > after (follow-up polling)"
    )
    tail = serializers.IntegerField(default=200, min_value=1, max_value=5000, help_text="the last N lines")


@extend_schema_view(
    list=extend_schema(summary="Jobs of your organizations, newest first (cursor pagination)"),
    retrieve=extend_schema(summary="One job"),
    create=extend_schema(
        summary="Submit a job (operator or admin)",
        request=JobCreateSerializer,
        responses={201: JobSerializer, 429: OpenApiResponse(description="a quota is reached; `field` names it")},
    ),
    destroy=extend_schema(summary="Delete a finished job with its logs and artifacts (operator or admin)"),
)
class JobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = JobSerializer
    filterset_class = JobFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self):
        return (
            selectors.jobs_visible_to(self.request.user)
            .select_related("organization", "created_by")
            # Artifacts without their bytes: a list would otherwise read every PNG it names.
            .prefetch_related("parents", Prefetch("artifacts", queryset=JobArtifact.objects.defer("data")))
        )

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if self.action in JOB_VERBS:
            require_role(request.user, obj.organization, *OPERATING_ROLES, action=f"{JOB_VERBS[self.action]} this job")

    def create(self, request, *args, **kwargs):
        serializer = JobCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        spec = dict(serializer.validated_data)
        organization = organization_for_create(
            request.user, spec.pop("organization", None), roles=OPERATING_ROLES, action="submit jobs"
        )
        job = services.submit_jobs(organization=organization, actor=request.user, specs=[spec])[0]
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.delete_jobs(jobs=[instance], actor=self.request.user)

    @extend_schema(
        request=JobBatchSerializer,
        responses={201: JobSerializer(many=True), 429: OpenApiResponse(description="quota reached")},
        summary="Submit up to 1000 jobs at once, all or nothing (errors name `jobs.<i>.<field>`)",
    )
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    def batch(self, request):
        serializer = JobBatchSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        organization = organization_for_create(
            request.user, serializer.validated_data.get("organization"), roles=OPERATING_ROLES, action="submit jobs"
        )
        specs = [dict(spec) for spec in serializer.validated_data["jobs"]]
        jobs = services.submit_jobs(organization=organization, actor=request.user, specs=specs, batch=True)
        return Response(self.get_serializer(jobs, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses=JobCountsSerializer, summary="How many of the caller's jobs are in each state (the queue page counts)"
    )
    @action(detail=False, methods=["get"])
    def counts(self, request):
        return Response(JobCountsSerializer(selectors.job_counts(request.user)).data)

    @extend_schema(request=BulkSerializer, responses=BulkResultSerializer, summary="Cancel, retry or delete many jobs")
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        serializer = BulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verb, ids = serializer.validated_data["action"], serializer.validated_data["ids"]
        jobs = {
            j.pk: j for j in selectors.jobs_visible_to(request.user).filter(pk__in=ids).select_related("organization")
        }
        skipped = {str(pk): "not found" for pk in ids if pk not in jobs}
        roles = roles_by_organization(request.user, {j.organization_id for j in jobs.values()})  # one query
        allowed, needed = [], roles_text(OPERATING_ROLES)
        for job in jobs.values():
            if roles.get(job.organization_id) in OPERATING_ROLES:
                allowed.append(job)
            else:
                skipped[str(job.pk)] = f"you need the {needed} role in organization '{job.organization.slug}'"
        if not allowed and jobs:
            refused = next(iter(jobs.values()))
            raise RoleRequired(
                refused.organization,
                OPERATING_ROLES,
                action=f"{verb} these jobs",
                held=roles.get(refused.organization_id),
            )
        done = []
        if verb == "delete":
            finished = [j for j in allowed if j.is_terminal]
            skipped.update({str(j.pk): f"{j.state}, not finished" for j in allowed if not j.is_terminal})
            for organization_jobs in _by_organization(finished):
                services.delete_jobs(jobs=organization_jobs, actor=request.user)
            done = [j.pk for j in finished]
        else:
            operation = services.cancel_job if verb == "cancel" else services.retry_job
            # Parents first (a parent's id is always the lower: it existed when its child was
            # submitted): a retried parent lets its children be retried, and a canceled one takes
            # its children with it, so they can be reopened with it later.
            for job in sorted(allowed, key=lambda j: j.pk):
                try:
                    operation(job=job, actor=request.user)
                    done.append(job.pk)
                except JobStateError as refused:
                    if _settled_by_its_parent(job, verb):
                        done.append(job.pk)
                    else:
                        skipped[str(job.pk)] = refused.message
                except QuotaExceeded as refused:  # this one would not fit; the others may
                    skipped[str(job.pk)] = refused.message
        return Response({"action": verb, "done": sorted(done), "skipped": skipped})

    @extend_schema(
        request=JobCancelSerializer, responses=JobSerializer, summary="Cancel (a running job stops within seconds)"
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self.get_object()
        serializer = JobCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason", "").strip()
        job = services.cancel_job(job=job, actor=request.user, reason=reason)
        return Response(self.get_serializer(self.get_queryset().get(pk=job.pk)).data)

    @extend_schema(request=None, responses=JobSerializer, summary="Retry a failed or canceled job")
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        job = services.retry_job(job=self.get_object(), actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=job.pk)).data)

    @extend_schema(
        parameters=[JobLogsQuery],
        responses=JobLogSerializer(many=True),
        summary="Log lines, oldest first (live: subscribe to `job.<id>` on /ws/live/)",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def logs(self, request, pk=None):
        job = self.get_object()
        q = validated_query(JobLogsQuery, request)
        lines = list(JobLog.objects.filter(job=job, id__gt=q["after"]).order_by("-id")[: q["tail"]])
        return Response(JobLogSerializer(reversed(lines), many=True).data)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, summary="Download an artifact")
    @action(detail=True, methods=["get"], url_path=r"artifacts/(?P<name>[\w.-]+)")
    def artifact(self, request, pk=None, name=None):
        job = self.get_object()
        artifact = get_object_or_404(job.artifacts, name=name)
        response = HttpResponse(bytes(artifact.data), content_type=artifact.content_type)
        response["Content-Disposition"] = f'inline; filename="job-{job.pk}-{artifact.name}"'
        response["ETag"] = f'"{artifact.sha256}"'
        return response


def _settled_by_its_parent(job: Job, verb: str) -> bool:
    """Whether a job refused by `verb` was already brought there earlier in the same request, by
    its parent's cancel (which cancels it) or retry (which reopens it). `job` is as read before."""
    state, cancel_requested = Job.objects.filter(pk=job.pk).values_list("state", "cancel_requested").get()
    if state == job.state and cancel_requested == job.cancel_requested:
        return False  # unchanged: refused for its own state
    if verb == "cancel":
        return state == JobState.CANCELED or cancel_requested
    return state in (JobState.QUEUED, JobState.WAITING)


def _by_organization(jobs):
    groups = {}
    for job in jobs:
        groups.setdefault(job.organization_id, []).append(job)
    return groups.values()
