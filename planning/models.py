"""Mission planning: imaging requests, the plans computed for them, and each plan's imaging slots
and downlinks."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from missionops.models import Organization
from spacecraft.models import Spacecraft


class RequestState(models.TextChoices):
    PENDING = "pending", "Pending"
    PLANNED = "planned", "Planned"
    IMAGED = "imaged", "Imaged"
    DOWNLINKED = "downlinked", "Downlinked"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    CANCELED = "canceled", "Canceled"


FINAL_REQUEST_STATES = (RequestState.PROCESSED, RequestState.FAILED, RequestState.EXPIRED, RequestState.CANCELED)
# Requests a plan considers: not yet imaged, or imaged and waiting for their data to come down.
PLANNABLE_STATES = (RequestState.PENDING, RequestState.PLANNED, RequestState.IMAGED)


class ImagingRequest(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="imaging_requests")
    name = models.CharField(max_length=120)
    # GeoJSON Point or Polygon (lon/lat WGS84); the planner aims at its centre.
    target = models.JSONField()
    target_latitude_deg = models.FloatField()
    target_longitude_deg = models.FloatField()
    priority = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(100)])
    earliest_start = models.DateTimeField()
    deadline = models.DateTimeField()
    min_elevation_deg = models.FloatField(
        default=60.0, help_text="of the spacecraft seen from the target", validators=[MinValueValidator(0)]
    )
    min_sun_elevation_deg = models.FloatField(
        null=True, blank=True, help_text="at the target (daylight imaging); empty: any light"
    )
    volume_bits = models.PositiveBigIntegerField(help_text="data volume of the image")
    template = models.ForeignKey(
        "jobs.JobTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="tile job run on the downlinked image",
    )
    state = models.CharField(max_length=12, choices=RequestState.choices, default=RequestState.PENDING, db_index=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    tile_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deadline", "-priority", "id"]
        indexes = [models.Index(fields=["organization", "state", "deadline"], name="imaging_request_queue")]
        constraints = [
            models.CheckConstraint(condition=Q(deadline__gt=F("earliest_start")), name="request_deadline_after_start"),
            models.CheckConstraint(condition=Q(priority__gte=1, priority__lte=100), name="request_priority_range"),
        ]

    def __str__(self):
        return f"{self.name} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_REQUEST_STATES

    def can_cancel(self) -> bool:
        return not self.is_final


class Plan(models.Model):
    """One run of the planner over a horizon. The newest plan of an organization is its current one."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="plans")
    start = models.DateTimeField()
    end = models.DateTimeField()
    trigger = models.CharField(max_length=120, help_text="why it was computed")
    solver = models.CharField(max_length=20, help_text="cp-sat, greedy-fallback or greedy-edf")
    status = models.CharField(max_length=20, blank=True, help_text="the CP-SAT status")
    value = models.PositiveIntegerField(default=0, help_text="priority weight of the requests it completes")
    greedy_value = models.PositiveIntegerField(default=0)
    bound = models.FloatField(null=True, blank=True, help_text="the solver's upper bound on the value")
    gap = models.FloatField(null=True, blank=True, help_text="(bound - value) / bound")
    time_limit_s = models.FloatField()
    wall_s = models.FloatField(default=0.0)
    stats = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="plan_org_newest")]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="planning_plan_end_after_start")]

    def __str__(self):
        return f"plan {self.pk} {self.start:%Y-%m-%d %H:%M} +{(self.end - self.start).total_seconds() / 3600:.0f} h"


class DownlinkState(models.TextChoices):
    PLANNED = "planned", "Planned"
    DONE = "done", "Done"
    LOST = "lost", "Lost"
    SUPERSEDED = "superseded", "Superseded"


class Downlink(models.Model):
    """A pass a plan uses to bring images down."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="downlinks")
    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="+")
    station = models.ForeignKey("orbits.GroundStation", on_delete=models.CASCADE, related_name="+")
    pass_ref = models.ForeignKey("orbits.Pass", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    capacity_bits = models.PositiveBigIntegerField()
    load_bits = models.PositiveBigIntegerField(default=0)
    state = models.CharField(max_length=12, choices=DownlinkState.choices, default=DownlinkState.PLANNED)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["state", "end"], name="downlink_due")]

    def __str__(self):
        return f"downlink {self.spacecraft_id} at {self.station_id} {self.start:%H:%M:%S}"


class SlotState(models.TextChoices):
    PLANNED = "planned", "Planned"
    COMMANDED = "commanded", "Commanded"
    IMAGED = "imaged", "Imaged"
    DOWNLINKED = "downlinked", "Downlinked"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


# Slots a re-plan keeps as they are: their command is out, or their image is on board.
EXECUTING_SLOT_STATES = (SlotState.COMMANDED, SlotState.IMAGED)


class ImagingSlot(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="slots")
    request = models.ForeignKey(ImagingRequest, on_delete=models.CASCADE, related_name="slots")
    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="+")
    downlink = models.ForeignKey(Downlink, null=True, blank=True, on_delete=models.SET_NULL, related_name="slots")
    start = models.DateTimeField()
    end = models.DateTimeField()
    elevation_deg = models.FloatField(help_text="peak elevation of the spacecraft seen from the target")
    command = models.ForeignKey(
        "spacecraft.Command", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=12, choices=SlotState.choices, default=SlotState.PLANNED)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["state", "start"], name="slot_due")]

    def __str__(self):
        return f"slot {self.request_id} on {self.spacecraft_id} {self.start:%H:%M:%S}"

    @property
    def is_executing(self) -> bool:
        return self.state in EXECUTING_SLOT_STATES


class SpacecraftResources(models.Model):
    """What the planner needs to know of a spacecraft beyond its live state; defaults apply to
    a spacecraft without a row."""

    DEFAULTS = {"memory_capacity_bits": 256 * 10**9, "image_energy_pct": 3.0, "slew_settle_s": 60, "imaging_s": 20}

    spacecraft = models.OneToOneField(Spacecraft, on_delete=models.CASCADE, related_name="planning_resources")
    memory_capacity_bits = models.PositiveBigIntegerField(default=DEFAULTS["memory_capacity_bits"])
    image_energy_pct = models.FloatField(
        default=DEFAULTS["image_energy_pct"], validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    slew_settle_s = models.PositiveIntegerField(default=DEFAULTS["slew_settle_s"])
    imaging_s = models.PositiveIntegerField(default=DEFAULTS["imaging_s"], validators=[MinValueValidator(1)])

    class Meta:
        verbose_name_plural = "spacecraft resources"

    def __str__(self):
        return f"resources of {self.spacecraft_id}"
