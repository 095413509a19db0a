"""REST API of usage: jobs and GPU-seconds per organization, user and day, with each quota's use today."""

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from missionops.api import validated_query

from . import selectors


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


class UsageQuery(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="first UTC day (default 30 days ago)")
    until = serializers.DateField(required=False, help_text="last UTC day (default today)")

    def validate(self, attrs):
        today = timezone.now().date()
        attrs.setdefault("until", today)
        attrs.setdefault("since", today - dt.timedelta(days=30))
        if attrs["until"] < attrs["since"]:
            raise serializers.ValidationError({"until": [f"{attrs['until']} is before since ({attrs['since']})"]})
        return attrs


class UsageView(APIView):
    @extend_schema(
        parameters=[UsageQuery],
        responses=UsageSerializer,
        summary="Jobs and GPU-seconds per organization and user, a leaderboard, and a summary by day",
    )
    def get(self, request):
        q = validated_query(UsageQuery, request)
        data = selectors.usage(request.user, since=q["since"], until=q["until"])
        data["quotas"] = selectors.quotas(request.user)
        return Response(UsageSerializer(data).data)
