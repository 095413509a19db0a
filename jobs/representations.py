"""How the job queue's objects are shown: the serializers the REST API answers with and the live
messages carry (`{"kind": ..., "data": <this representation>}`): jobs, their log lines, GPU slots."""

import datetime as dt

from rest_framework import serializers

from missionops.api import username_field

from .models import Gpu, Job, JobKind, JobLog, JobState


class ArtifactSerializer(serializers.Serializer):
    name = serializers.CharField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, artifact) -> str:
        return f"/api/v1/jobs/{artifact.job_id}/artifacts/{artifact.name}/"


class JobSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = username_field("created_by")
    kind = serializers.ChoiceField(choices=JobKind.choices)
    state = serializers.ChoiceField(choices=JobState.choices)
    parents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    bbox = serializers.SerializerMethodField(help_text="[west, south, east, north]; west > east crosses 180°")
    artifacts = serializers.SerializerMethodField()
    can_cancel = serializers.BooleanField(read_only=True, help_text="not finished yet: cancel applies")
    can_retry = serializers.BooleanField(read_only=True, help_text="failed or canceled: retry applies")

    class Meta:
        model = Job
        fields = [
            "id", "organization", "name", "kind", "params", "priority", "state", "needs_gpu", "parents",
            "attempts", "max_attempts", "run_after", "worker", "gpu_index", "lease_expires_at", "heartbeat_at",
            "progress", "result", "error", "cancel_requested", "cancel_reason", "gpu_seconds", "footprint", "bbox",
            "template", "created_by", "created_at", "started_at", "finished_at", "artifacts", "can_cancel",
            "can_retry",
        ]  # fmt: skip
        read_only_fields = fields

    def get_bbox(self, job) -> list[float] | None:
        if job.bbox_west is None:
            return None
        return [job.bbox_west, job.bbox_south, job.bbox_east, job.bbox_north]

    def get_artifacts(self, job) -> list[dict]:
        prefetched = "artifacts" in getattr(job, "_prefetched_objects_cache", {})  # without data: JobViewSet
        return ArtifactSerializer(job.artifacts.all() if prefetched else job.artifacts.defer("data"), many=True).data


class JobLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobLog
        fields = ["id", "at", "level", "attempt", "message"]


class GpuSerializer(serializers.ModelSerializer):
    utilization_pct = serializers.SerializerMethodField()
    memory_used_mb = serializers.SerializerMethodField()
    temperature_c = serializers.SerializerMethodField()
    sampled_at = serializers.SerializerMethodField()
    job = serializers.SerializerMethodField(help_text="running job, if it belongs to one of your organizations")

    class Meta:
        model = Gpu
        fields = [
            "id", "host", "index", "name", "uuid", "simulated", "memory_total_mb", "active", "last_seen_at",
            "utilization_pct", "memory_used_mb", "temperature_c", "sampled_at", "job",
        ]  # fmt: skip

    def _latest(self, gpu):
        return getattr(gpu, "latest", None)

    def get_utilization_pct(self, gpu) -> float | None:
        return self._latest(gpu) and self._latest(gpu).utilization_pct

    def get_memory_used_mb(self, gpu) -> float | None:
        return self._latest(gpu) and self._latest(gpu).memory_used_mb

    def get_temperature_c(self, gpu) -> float | None:
        return self._latest(gpu) and self._latest(gpu).temperature_c

    def get_sampled_at(self, gpu) -> dt.datetime | None:
        return self._latest(gpu) and self._latest(gpu).at

    def get_job(self, gpu) -> int | None:
        latest = self._latest(gpu)
        if latest is None or latest.job is None:
            return None
        visible = self.context.get("organization_ids", set())
        return latest.job_id if latest.job.organization_id in visible else None
