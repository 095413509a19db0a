"""The job queue: jobs and their DAG, logs, artifacts, templates, quotas, GPUs and their samples."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from missionops.models import Organization


class JobState(models.TextChoices):
    WAITING = "waiting", "waiting for parents"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    RETRYING = "retrying", "retrying (backing off)"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELED = "canceled", "canceled"


CLAIMABLE_STATES = (JobState.QUEUED, JobState.RETRYING)
TERMINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED)


class JobKind(models.TextChoices):
    TILE = "tile", "tile processing (NDVI, cloud mask, quick-look)"
    SLEEP = "sleep", "sleep (diagnostic: progress, cancel, failures)"
    NOOP = "noop", "no-op (queue benchmark)"


class Job(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    template = models.ForeignKey("JobTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    params = models.JSONField(default=dict, blank=True)
    priority = models.SmallIntegerField(default=0, help_text="higher runs first; -100..100")
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    needs_gpu = models.BooleanField(default=False, help_text="takes one GPU slot while running")
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)

    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    run_after = models.DateTimeField(help_text="not claimed before this time (retry backoff)")
    worker = models.CharField(max_length=200, blank=True)
    gpu = models.ForeignKey("Gpu", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    gpu_index = models.SmallIntegerField(null=True, blank=True)
    run_slot = models.PositiveIntegerField(null=True, blank=True, help_text="number of the run slot it holds")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    cancel_reason = models.CharField(max_length=300, blank=True)

    progress = models.FloatField(default=0.0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    gpu_seconds = models.FloatField(default=0.0, help_text="GPU-slot seconds used, all attempts")

    footprint = models.JSONField(null=True, blank=True, help_text="GeoJSON Polygon, lon/lat WGS84")
    # Longitudes: bbox_west > bbox_east means the box crosses the antimeridian.
    bbox_west = models.FloatField(null=True, blank=True, db_index=True)
    bbox_south = models.FloatField(null=True, blank=True, db_index=True)
    bbox_east = models.FloatField(null=True, blank=True, db_index=True)
    bbox_north = models.FloatField(null=True, blank=True, db_index=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The claim query: claimable rows by priority then age.
            models.Index(
                fields=["-priority", "created_at", "id"],
                name="job_claim_order",
                condition=Q(state__in=["queued", "retrying"]),
            ),
            models.Index(fields=["organization", "state"], name="job_org_state"),
            models.Index(fields=["state", "lease_expires_at"], name="job_lease", condition=Q(state="running")),
            models.Index(fields=["organization", "-created_at", "-id"], name="job_org_newest"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=100), name="job_progress_0_100"),
            models.CheckConstraint(condition=Q(priority__gte=-100) & Q(priority__lte=100), name="job_priority_range"),
            # One running job per GPU slot, whatever the workers believe.
            models.UniqueConstraint(fields=["gpu"], condition=Q(state="running"), name="job_one_per_gpu"),
        ]

    def __str__(self):
        return f"job {self.pk} ({self.kind}, {self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def can_retry(self) -> bool:
        return self.state in (JobState.FAILED, JobState.CANCELED)

    def can_cancel(self) -> bool:
        return not self.is_terminal


class JobLog(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="logs")
    at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=8, default="info")
    attempt = models.PositiveSmallIntegerField(default=0)
    message = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["job", "id"], name="joblog_job_id")]

    def __str__(self):
        return f"{self.at:%H:%M:%S} {self.level} {self.message[:60]}"


class JobArtifact(models.Model):
    """A file a job produced. Stored in the database so a worker on another host needs no shared disk."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=100)
    content_type = models.CharField(max_length=100)
    data = models.BinaryField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="artifact_unique_name")]

    def __str__(self):
        return f"{self.name} ({self.size_bytes} B)"


class JobTemplate(models.Model):
    """A saved job: submit it by hand, or on a cron schedule (a django-celery-beat PeriodicTask)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="job_templates")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    params = models.JSONField(default=dict, blank=True)
    priority = models.SmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    footprint = models.JSONField(null=True, blank=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="template_unique_name")]

    def __str__(self):
        return self.name


class OrganizationQuota(models.Model):
    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="job_quota")
    max_concurrent_jobs = models.PositiveIntegerField(default=4, help_text="running at once")
    max_queued_jobs = models.PositiveIntegerField(default=10_000, help_text="waiting, queued or retrying at once")
    daily_gpu_seconds = models.FloatField(default=8 * 3600, help_text="GPU-slot seconds per UTC day")

    def __str__(self):
        return f"quota of {self.organization}"


class RunSlot(models.Model):
    """One of an organization's places to run a job: a claim takes free slots with SKIP LOCKED, so
    claimers never queue behind one organization-wide lock. Slots numbered at or above the current
    max_concurrent_jobs are not used, so lowering the limit never strands a running job.

    `job_id` is a plain column (no foreign key, no index): taking and freeing a slot then changes
    no indexed column, so Postgres updates the row in place (HOT) instead of leaving an index entry
    behind per claim that every later claim would step over."""

    # db_index off: the unique (organization, number) index serves every lookup.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    number = models.PositiveIntegerField()
    job_id = models.BigIntegerField(null=True, blank=True, help_text="the running job holding it")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "number"], name="runslot_unique_number")]

    def __str__(self):
        return f"run slot {self.number} of {self.organization}"


# Counter rows per (organization, user, day): a success adds to the row of its run slot's shard,
# so concurrent completions (which hold different run slots) never wait on one another's row lock
# until commit. One row per day made every completion of a busy user queue behind the last.
USAGE_SHARDS = 16


class UsageDay(models.Model):
    """Jobs finished and GPU-seconds used, per organization, user and UTC day (upserted at finish),
    split over up to USAGE_SHARDS rows: readers sum them."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    day = models.DateField()
    jobs = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    gpu_seconds = models.FloatField(default=0.0)
    shard = models.PositiveSmallIntegerField(default=0, help_text="counter row of the day (readers sum them)")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "day", "shard"], name="usage_unique_day_shard", nulls_distinct=False
            ),
        ]

    def __str__(self):
        return f"{self.organization} {self.user} {self.day}"


class Gpu(models.Model):
    """One GPU slot on one worker host: real (NVML) or simulated."""

    host = models.CharField(max_length=200)
    index = models.SmallIntegerField()
    name = models.CharField(max_length=200)
    uuid = models.CharField(max_length=100, blank=True)
    memory_total_mb = models.PositiveIntegerField(default=0)
    simulated = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "index"], name="gpu_unique_slot")]
        ordering = ["host", "index"]

    def __str__(self):
        return f"{self.host}#{self.index} {self.name}{' (simulated)' if self.simulated else ''}"


class GpuSample(models.Model):
    gpu = models.ForeignKey(Gpu, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField()
    utilization_pct = models.FloatField()
    memory_used_mb = models.FloatField()
    temperature_c = models.FloatField(null=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["gpu", "-at"], name="gpusample_gpu_at")]

    def __str__(self):
        return f"{self.gpu} {self.at:%H:%M:%S} {self.utilization_pct:.0f}%"


class TileInput(models.Model):
    """An uploaded array file a tile job reads instead of synthesizing bands: a NumPy .npz of 2-D
    reflectance bands (see jobs/workloads/npz.py). Stored in the database, like JobArtifact, so a
    worker on another host needs no shared disk; validated once at upload."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tile_inputs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=200)
    data = models.BinaryField(help_text="the .npz file as uploaded")
    bands = models.JSONField(default=list, help_text="band names, in the order a tile job reads them")
    height_px = models.PositiveIntegerField()
    width_px = models.PositiveIntegerField()
    dtype = models.CharField(max_length=16, help_text="NumPy dtype of the stored bands")
    scale = models.FloatField(default=1.0, help_text="reflectance = stored value / scale (1 for float bands)")
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="tileinput_org_newest")]
        constraints = [
            models.CheckConstraint(condition=Q(height_px__gt=0) & Q(width_px__gt=0), name="tileinput_not_empty"),
            models.CheckConstraint(condition=Q(scale__gt=0), name="tileinput_scale_positive"),
        ]

    def __str__(self):
        return f"{self.name} ({self.height_px}x{self.width_px} {self.dtype})"
