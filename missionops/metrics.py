"""Prometheus metrics: process metrics from django-prometheus plus MissionOps domain metrics.

Ingest counters and histograms are summed over every process (missionops.shared_metrics: web,
workers, the MQTT bridge and the simulator all ingest). Live sockets are per web process.
Fleet-wide gauges (spacecraft by mode, open anomalies, jobs, queue depth, GPUs) are read from the
database and Redis at scrape time, so every process agrees on them.
"""

import hmac
import ipaddress

import redis
from django.apps import apps
from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .shared_metrics import SharedCounter, SharedHistogram, SharedMetricsCollector
from .shared_metrics import flush as flush_shared_metrics

SAMPLES_INGESTED = SharedCounter(
    "missionops_samples_ingested_total", "Telemetry samples stored, by every process", ["interface"]
)
INGEST_DURATION = SharedHistogram(
    "missionops_ingest_duration_seconds",
    "Time to validate and store one ingest batch, in every process",
    ["interface"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LIVE_SOCKETS = Gauge("missionops_live_sockets", "Open /ws/live/ sockets in this process")


class DomainCollector:
    FAMILIES = (
        ("missionops_spacecraft", "Spacecraft by mode", ["mode"]),
        ("missionops_anomalies_open", "Unresolved anomalies by severity", ["severity"]),
        ("missionops_jobs", "Jobs by state", ["state"]),
        ("missionops_commands", "Commands by state", ["state"]),
        ("missionops_celery_queue_depth", "Tasks waiting in the Celery queue", ["queue"]),
        ("missionops_gpu_utilization_pct", "Latest GPU utilization", ["host", "index", "simulated"]),
    )

    def describe(self):
        """The names, without values: registering a collector with no describe() calls collect(),
        which would query the database and Redis while apps load, in every process."""
        for name, documentation, labels in self.FAMILIES:
            yield GaugeMetricFamily(name, documentation, labels=labels)

    def collect(self):
        yield self._grouped("missionops_spacecraft", "Spacecraft by mode", "spacecraft.Spacecraft", "mode", {})
        yield self._grouped(
            "missionops_anomalies_open",
            "Unresolved anomalies by severity",
            "anomalies.Anomaly",
            "severity",
            {"state__in": ["open", "acknowledged", "shelved"]},
        )
        yield self._grouped("missionops_jobs", "Jobs by state", "jobs.Job", "state", {})
        yield self._grouped("missionops_commands", "Commands by state", "spacecraft.Command", "state", {})
        depth = GaugeMetricFamily(
            "missionops_celery_queue_depth", "Tasks waiting in the Celery queue", labels=["queue"]
        )
        try:
            client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1)
            depth.add_metric(["celery"], client.llen("celery"))
        except redis.RedisError:
            pass
        yield depth
        yield self._gpu_utilization()

    @staticmethod
    def _grouped(name, documentation, model_label, field, filters):
        family = GaugeMetricFamily(name, documentation, labels=[field])
        try:
            model = apps.get_model(model_label)
            for row in model.objects.filter(**filters).values(field).annotate(n=Count("pk")):
                family.add_metric([row[field]], row["n"])
        except Exception:  # noqa: BLE001 - a scrape must never fail because one source is away
            pass
        return family

    @staticmethod
    def _gpu_utilization():
        family = GaugeMetricFamily(
            "missionops_gpu_utilization_pct", "Latest GPU utilization", labels=["host", "index", "simulated"]
        )
        try:
            gpu_model = apps.get_model("jobs.Gpu")
            for gpu in gpu_model.objects.filter(active=True):
                sample = gpu.samples.order_by("-at").first()
                if sample is not None:
                    family.add_metric([gpu.host, str(gpu.index), str(gpu.simulated).lower()], sample.utilization_pct)
        except Exception:  # noqa: BLE001
            pass
        return family


_registered = False


def register_domain_collector():
    global _registered
    if not _registered:
        REGISTRY.register(DomainCollector())
        REGISTRY.register(SharedMetricsCollector())
        _registered = True


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token and hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return True
    if not settings.METRICS_ALLOW_LOOPBACK:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_view(request):
    """Prometheus text format: `Authorization: Bearer $METRICS_TOKEN` (or loopback, where opened)."""
    if not _allowed(request):
        return HttpResponseForbidden(
            "metrics: send METRICS_TOKEN as a bearer token (or set METRICS_ALLOW_LOOPBACK=true for loopback)"
        )
    flush_shared_metrics()  # this process's last second too
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
