"""REST API of usage: jobs and GPU-seconds per organization, user and day, with each quota's use today."""

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .api import query_value
from .exceptions import JobParamsError


class OrganizationUsageSerializer(serializers.Serializer):
    organization = serializers.CharField()
    jobs = serializers.IntegerField(help_text="jobs finished")
    succeeded = serializers.IntegerField()
    gpu_seconds = serializers.FloatField()


class LeaderboardRowSerializer(OrganizationUsageSerializer):
    rank = serializers.IntegerField(help_text="1 = most GPU-seconds, then most jobs")
    user = serializers.CharField(allow_null=True, help_text="null: jobs no user submitted (schedules, commands)")


class DayUsageSerializer(OrganizationUsageSerializer):
    day = serializers.DateField(help_text="UTC day")


class QuotaUsageSerializer(serializers.Serializer):
    organization = serializers.CharField()
    max_concurrent_jobs = serializers.IntegerField()
    running = serializers.IntegerField()
    max_queued_jobs = serializers.IntegerField()
    daily_gpu_seconds = serializers.FloatField()
    gpu_seconds_today = serializers.FloatField()


class UsageSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    organizations = OrganizationUsageSerializer(many=True)
    leaderboard = LeaderboardRowSerializer(many=True)
    days = DayUsageSerializer(many=True)
    quotas = QuotaUsageSerializer(many=True, help_text="each organization's limits with today's use")


class UsageView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="first UTC day (default 30 days ago)"),
            OpenApiParameter("until", OpenApiTypes.DATE, description="last UTC day (default today)"),
        ],
        responses=UsageSerializer,
        summary="Jobs and GPU-seconds per organization and user, a leaderboard, and a summary by day",
    )
    def get(self, request):
        today = timezone.now().date()
        since = query_value(
            request, "since", dt.date.fromisoformat, today - dt.timedelta(days=30), "a date, YYYY-MM-DD"
        )
        until = query_value(request, "until", dt.date.fromisoformat, today, "a date, YYYY-MM-DD")
        if until < since:
            raise JobParamsError(f"until ({until}) is before since ({since})", field="until")
        data = selectors.usage(request.user, since=since, until=until)
        data["quotas"] = selectors.quotas(request.user)
        return Response(UsageSerializer(data).data)
