"""REST API of the GPU slots: every worker host's GPUs with their latest sample, and one GPU's samples."""

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import validated_query

from . import selectors
from .models import Gpu
from .representations import GpuSerializer


class GpuSamplesQuery(serializers.Serializer):
    minutes = serializers.IntegerField(default=15, help_text="how far back (default 15, at most 1440)")


class GpuSampleSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    utilization_pct = serializers.FloatField()
    memory_used_mb = serializers.FloatField()
    temperature_c = serializers.FloatField(allow_null=True)


@extend_schema_view(
    list=extend_schema(summary="GPU slots of all worker hosts with their latest sample (`simulated` marks fakes)"),
    retrieve=extend_schema(summary="One GPU slot with its latest sample"),
)
class GpuViewSet(viewsets.ReadOnlyModelViewSet):
    """GPUs are shared infrastructure: every member sees them; a running job only to its organization."""

    serializer_class = GpuSerializer
    pagination_class = None

    def get_queryset(self):
        return Gpu.objects.filter(active=True)

    def get_serializer_context(self):
        from missionops.tenancy import organizations_for

        ids = set(organizations_for(self.request.user).values_list("pk", flat=True))
        return {**super().get_serializer_context(), "organization_ids": ids}

    def list(self, request, *args, **kwargs):
        return Response(self.get_serializer(selectors.gpus_with_latest_sample(), many=True).data)

    def get_object(self):
        return selectors.with_latest_sample(super().get_object())

    @extend_schema(
        parameters=[GpuSamplesQuery],
        responses=GpuSampleSerializer(many=True),
        summary="Samples of one GPU, oldest first",
    )
    @action(detail=True, methods=["get"])
    def samples(self, request, pk=None):
        gpu = self.get_object()
        minutes = min(1440, max(1, validated_query(GpuSamplesQuery, request)["minutes"]))
        since = timezone.now() - dt.timedelta(minutes=minutes)
        return Response(GpuSampleSerializer(selectors.gpu_samples(gpu=gpu, since=since), many=True).data)
