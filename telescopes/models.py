"""Telescopes: observatories, their ASCOM Alpaca devices, device operations, exposures and
observation sessions (a telescope following one of our spacecraft through a pass)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from missionops.models import Organization
from orbits.models import TLE
from spacecraft.models import Spacecraft


class DeviceType(models.TextChoices):
    TELESCOPE = "telescope", "Telescope"
    CAMERA = "camera", "Camera"
    DOME = "dome", "Dome"
    FOCUSER = "focuser", "Focuser"
    FILTERWHEEL = "filterwheel", "Filter wheel"
    ROTATOR = "rotator", "Rotator"
    SWITCH = "switch", "Switch"
    SAFETYMONITOR = "safetymonitor", "Safety monitor"
    OBSERVINGCONDITIONS = "observingconditions", "Observing conditions"
    COVERCALIBRATOR = "covercalibrator", "Cover calibrator"


class HealthStatus(models.TextChoices):
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    UNHEALTHY = "Unhealthy"
    UNKNOWN = "Unknown"


class Observatory(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="observatories")
    name = models.CharField(max_length=120)
    latitude_deg = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude_deg = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    altitude_m = models.FloatField(default=0.0, validators=[MinValueValidator(-500), MaxValueValidator(9000)])
    horizon_limit_deg = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0), MaxValueValidator(89)],
        help_text="Slews below this altitude are refused.",
    )
    discovery_hosts = models.TextField(
        blank=True,
        help_text="Where Alpaca UDP discovery is sent: hosts or directed-broadcast addresses, "
        "`host` or `host:port` (port defaults to 32227), separated by commas or spaces.",
    )
    discovery_interface = models.CharField(
        max_length=64,
        blank=True,
        help_text="A network interface name: discovery is also broadcast on that interface's network only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "observatories"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="observatory_name_per_org"),
            models.CheckConstraint(
                condition=models.Q(latitude_deg__gte=-90, latitude_deg__lte=90), name="observatory_latitude_range"
            ),
            models.CheckConstraint(
                condition=models.Q(longitude_deg__gte=-180, longitude_deg__lte=180),
                name="observatory_longitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(horizon_limit_deg__gte=0, horizon_limit_deg__lt=90),
                name="observatory_horizon_range",
            ),
        ]

    def __str__(self):
        return self.name


class AlpacaDevice(models.Model):
    observatory = models.ForeignKey(Observatory, on_delete=models.CASCADE, related_name="devices")
    device_type = models.CharField(max_length=24, choices=DeviceType.choices)
    device_number = models.PositiveIntegerField(default=0)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    unique_id = models.CharField(max_length=120, blank=True)
    name = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=300, blank=True)
    interface_version = models.PositiveIntegerField(null=True, blank=True)
    health_status = models.CharField(max_length=12, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN)
    health_detail = models.CharField(max_length=300, blank=True)
    status = models.JSONField(default=dict, blank=True, help_text="Key properties read at the last check.")
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["observatory", "device_type", "device_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["observatory", "host", "port", "device_type", "device_number"], name="alpaca_device_once"
            ),
        ]

    def __str__(self):
        return f"{self.name or self.device_type} ({self.address} {self.device_type}/{self.device_number})"

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def organization_id(self):
        return self.observatory.organization_id


class OperationKind(models.TextChoices):
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    UNPARK = "unpark"
    PARK = "park"
    SLEW_RADEC = "slew_radec", "Slew to RA/Dec"
    SLEW_ALTAZ = "slew_altaz", "Slew to Alt/Az"
    ABORT = "abort"
    TRACKING = "tracking"
    EXPOSE = "expose"
    FOCUSER_MOVE = "focuser_move", "Focuser move"
    DOME_OPEN = "dome_open", "Open dome shutter"
    DOME_CLOSE = "dome_close", "Close dome shutter"


class OperationStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


FINISHED_STATUSES = (
    OperationStatus.SUCCEEDED,
    OperationStatus.FAILED,
    OperationStatus.TIMED_OUT,
    OperationStatus.CANCELLED,
)


class Operation(models.Model):
    """One request to a device, carried out asynchronously: pending -> running -> a final status.
    `deadline` bounds it: the sweeper fails whatever is still open past it, so none stays stuck."""

    device = models.ForeignKey(AlpacaDevice, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=16, choices=OperationKind.choices)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=OperationStatus.choices, default=OperationStatus.PENDING)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    timeout_s = models.FloatField()
    deadline = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["device", "-created_at"], name="operation_device_recent"),
            models.Index(fields=["status", "deadline"], name="operation_open_deadline"),
        ]

    def __str__(self):
        return f"{self.kind} on {self.device_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"


class ObservationSession(models.Model):
    """A telescope following a spacecraft through a pass: the computed track, the pointing actually
    reached (error logged per step) and the images taken on a cadence."""

    observatory = models.ForeignKey(Observatory, on_delete=models.CASCADE, related_name="sessions")
    telescope = models.ForeignKey(AlpacaDevice, on_delete=models.CASCADE, related_name="sessions")
    camera = models.ForeignKey(
        AlpacaDevice, null=True, blank=True, on_delete=models.SET_NULL, related_name="camera_sessions"
    )
    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="observation_sessions")
    element_set = models.ForeignKey(
        TLE, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="the set tle_line1/2 are of"
    )
    tle_line1 = models.CharField(max_length=69)
    tle_line2 = models.CharField(max_length=69)
    start = models.DateTimeField()
    end = models.DateTimeField()
    step_s = models.FloatField(default=2.0)
    exposure_every_s = models.FloatField(default=0.0, help_text="0: no exposures")
    exposure_s = models.FloatField(default=0.5)
    rehearsal_offset_s = models.FloatField(
        default=0.0,
        help_text="Rehearsal: follow the track of (wall-clock time + this offset), e.g. a pass of tomorrow now. "
        "0 for a real observation.",
    )
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED)
    track = models.JSONField(default=list, blank=True, help_text="[[iso time, alt, az, ra h, dec], ...]")
    pointing = models.JSONField(default=list, blank=True, help_text="one sample per step, with the error")
    max_pointing_error_deg = models.FloatField(null=True, blank=True)
    pending_exposure = models.JSONField(null=True, blank=True)
    last_exposure_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-start", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="session_end_after")]

    def __str__(self):
        return f"{self.spacecraft_id} from {self.observatory} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status in (SessionStatus.SCHEDULED, SessionStatus.RUNNING)


def exposure_path(instance, filename: str) -> str:
    return f"telescopes/exposures/{instance.camera.observatory_id}/{filename}"


class Exposure(models.Model):
    camera = models.ForeignKey(AlpacaDevice, on_delete=models.CASCADE, related_name="exposures")
    operation = models.OneToOneField(
        Operation, null=True, blank=True, on_delete=models.SET_NULL, related_name="exposure"
    )
    session = models.ForeignKey(
        ObservationSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="exposures"
    )
    started_at = models.DateTimeField()
    duration_s = models.FloatField()
    light = models.BooleanField(default=False)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    binning = models.PositiveIntegerField(default=1)
    pointing = models.JSONField(default=dict, blank=True, help_text="Telescope RA/Dec/Alt/Az at shutter open.")
    stats = models.JSONField(default=dict, blank=True)
    fits = models.FileField(upload_to=exposure_path)
    preview = models.FileField(upload_to=exposure_path)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return (
            f"{'light' if self.light else 'dark'} {self.duration_s}s on {self.camera_id} @ {self.started_at:%H:%M:%S}"
        )
