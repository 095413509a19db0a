"""GPU inventory services: a worker host registers its GPUs (real or simulated) and records their
samples as a time series, pushed to every organization's `gpus` topic."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from missionops import live
from missionops.models import Organization

from .. import nvml
from ..models import Gpu, GpuSample, Job, JobState
from ..representations import GpuSerializer


@transaction.atomic
def register_host_gpus(*, host: str, gpus: list[nvml.GpuInfo]) -> list[Gpu]:
    """Upsert this host's GPU slots; slots no longer found are deactivated (never claimed)."""
    now = timezone.now()
    rows = []
    for info in gpus:
        gpu, _ = Gpu.objects.update_or_create(
            host=host,
            index=info.index,
            defaults={
                "name": info.name,
                "uuid": info.uuid,
                "memory_total_mb": info.memory_total_mb,
                "simulated": info.simulated,
                "active": True,
                "last_seen_at": now,
            },
        )
        rows.append(gpu)
    Gpu.objects.filter(host=host).exclude(index__in=[g.index for g in gpus]).update(active=False)
    return rows


def busy_slots(host: str) -> dict[int, Job]:
    """The running job on each GPU index of `host`."""
    running = Job.objects.filter(state=JobState.RUNNING, gpu__host=host).select_related("gpu")
    return {job.gpu.index: job for job in running}


@transaction.atomic
def record_samples(*, host: str, gpus: list[nvml.GpuInfo]) -> list[GpuSample]:
    """Read every GPU of `host` once, store the readings, publish them on `gpus`."""
    now = timezone.now()
    rows = {g.index: g for g in Gpu.objects.filter(host=host, active=True)}
    busy = busy_slots(host)
    readings = nvml.read(gpus, {index: job.pk for index, job in busy.items()})
    samples = [
        GpuSample(
            gpu=rows[r.index],
            at=now,
            utilization_pct=r.utilization_pct,
            memory_used_mb=r.memory_used_mb,
            temperature_c=r.temperature_c,
            job=busy.get(r.index),
        )
        for r in readings
        if r.index in rows
    ]
    GpuSample.objects.bulk_create(samples)
    Gpu.objects.filter(pk__in=[s.gpu_id for s in samples]).update(last_seen_at=now)
    gpus = []
    for sample in samples:  # each GPU as the REST API shows it, with this sample as its latest
        sample.gpu.latest, sample.gpu.last_seen_at = sample, now
        gpus.append(sample.gpu)
    # GPUs are shared infrastructure; the job on a GPU is named only to its own organization.
    for organization_id in Organization.objects.values_list("pk", flat=True):
        context = {"organization_ids": {organization_id}}
        message = live.live_message("gpu.samples", GpuSerializer, gpus, many=True, context=context)
        live.publish("gpus", message, organization=organization_id)
    return samples


def prune_samples(*, older_than_days: float = 7) -> int:
    """Delete GPU samples older than `older_than_days`; returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = GpuSample.objects.filter(at__lt=cutoff).delete()
    return deleted
