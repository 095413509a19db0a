"""Telemetry: parameter definitions, the day-partitioned sample archive, minute and hour rollups, latest values.

The archive (`telemetry_sample`) is one narrow table, `(parameter_id, time, value)`, range-partitioned
by day in raw SQL (migration 0001). A parameter definition belongs to one spacecraft, so
`parameter_id` stands for (spacecraft, parameter) and the primary key `(parameter_id, time)` is the
idempotency key of ingest. Bool values are stored as 0/1 and enum values as their code, an index
into `enum_codes`, so every sample is a double and the archive stays narrow and COPY-friendly.
"""

import math

from django.db import models

from missionops.models import Organization
from spacecraft.models import ParameterType, Spacecraft, Subsystem


class Interface(models.TextChoices):
    """The ways telemetry arrives; each has its own ingest-rate counter."""

    REST = "rest", "REST"
    WEBSOCKET = "websocket", "WebSocket"
    MQTT = "mqtt", "MQTT"
    SIMULATOR = "simulator", "Simulator"
    SERVICE = "service", "Direct service call"


class Status(models.TextChoices):
    NOMINAL = "nominal", "Nominal"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
    UNKNOWN = "unknown", "Unknown"


class ParameterDefinition(models.Model):
    """One telemetry parameter of one spacecraft: declared by its configuration, or undeclared
    (registered when it first arrived, with an inferred type)."""

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="parameter_definitions")
    name = models.CharField(max_length=64)
    subsystem = models.CharField(max_length=16, choices=Subsystem.choices, blank=True)
    units = models.CharField(max_length=32, blank=True)
    type = models.CharField(max_length=8, choices=ParameterType.choices, default=ParameterType.FLOAT)
    declared = models.BooleanField(default=True, help_text="False: not in the configuration; type inferred.")
    enum_values = models.JSONField(default=list, blank=True, help_text="The strings ingest accepts, in declared order.")
    # Stored samples are indices into this list, so it only ever grows: a string keeps its code
    # when the configuration reorders or drops it, and history keeps its meaning.
    enum_codes = models.JSONField(default=list, blank=True, help_text="code -> string of every enum value ever stored.")
    warn_low = models.FloatField(null=True, blank=True)
    warn_high = models.FloatField(null=True, blank=True)
    crit_low = models.FloatField(null=True, blank=True)
    crit_high = models.FloatField(null=True, blank=True)
    expected_interval_s = models.FloatField(null=True, blank=True)
    config_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The configuration version this definition was last taken from."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["spacecraft", "subsystem", "name"]
        constraints = [models.UniqueConstraint(fields=["spacecraft", "name"], name="one_definition_per_parameter")]

    def __str__(self):
        return f"{self.spacecraft.designation}/{self.name}"

    def status_of(self, value: float | None) -> Status:
        """Where a stored value lies against the tolerances."""
        if value is None or self.type not in (ParameterType.FLOAT, ParameterType.INT) or not math.isfinite(value):
            return Status.UNKNOWN
        if (self.crit_low is not None and value < self.crit_low) or (
            self.crit_high is not None and value > self.crit_high
        ):
            return Status.CRITICAL
        if (self.warn_low is not None and value < self.warn_low) or (
            self.warn_high is not None and value > self.warn_high
        ):
            return Status.WARNING
        return Status.NOMINAL

    def display_value(self, value: float | None):
        """A stored double back in the parameter's own type."""
        if value is None:
            return None
        if self.type == ParameterType.BOOL:
            return bool(value)
        if self.type == ParameterType.INT:
            return int(value)
        if self.type == ParameterType.ENUM:
            index = int(value)
            return self.enum_codes[index] if 0 <= index < len(self.enum_codes) else None
        return value


class Sample(models.Model):
    """A row of the partitioned archive. Unmanaged: the table is created in raw SQL. Written only by
    `telemetry.services.ingest` (COPY), read by the selectors."""

    pk = models.CompositePrimaryKey("parameter_id", "time")
    parameter_id = models.IntegerField()
    time = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        managed = False
        db_table = "telemetry_sample"

    def __str__(self):
        return f"{self.parameter_id}@{self.time.isoformat()}={self.value}"


class Rollup(models.Model):
    """min / max / avg / count / last of one parameter over one UTC bucket."""

    pk = models.CompositePrimaryKey("parameter_id", "bucket")
    parameter_id = models.IntegerField()
    bucket = models.DateTimeField()
    min = models.FloatField()
    max = models.FloatField()
    avg = models.FloatField()
    count = models.IntegerField()
    last = models.FloatField()

    class Meta:
        abstract = True


class MinuteRollup(Rollup):
    """One UTC minute, kept after the raw partitions are dropped. Recomputed from raw rows by
    `services.roll_up`, so late data is exact."""

    class Meta:
        db_table = "telemetry_minute_rollup"

    def __str__(self):
        return f"{self.parameter_id}@{self.bucket:%Y-%m-%d %H:%M}"


class HourRollup(Rollup):
    """One UTC hour, built from the minute rollups (never from raw rows, which retention may have
    dropped) by `services.roll_up` whenever a minute of the hour was rolled up, so long series read
    ~8.8k rows per parameter-year instead of ~525k minutes."""

    class Meta:
        db_table = "telemetry_hour_rollup"

    def __str__(self):
        return f"{self.parameter_id}@{self.bucket:%Y-%m-%d %H:00}"


class PendingRollup(models.Model):
    """A minute that received samples since it was last rolled up. `version` grows with every ingest
    touching it, so the roll-up deletes the mark only if nothing arrived while it computed."""

    bucket = models.DateTimeField(primary_key=True)
    version = models.BigIntegerField(default=1)

    class Meta:
        db_table = "telemetry_pending_rollup"

    def __str__(self):
        return f"{self.bucket:%Y-%m-%d %H:%M} v{self.version}"


class LatestValue(models.Model):
    """The newest sample per (spacecraft, parameter), updated in the ingest transaction."""

    parameter = models.OneToOneField(
        ParameterDefinition, primary_key=True, on_delete=models.CASCADE, related_name="latest"
    )
    time = models.DateTimeField()
    value = models.FloatField()

    def __str__(self):
        return f"{self.parameter} = {self.value} @ {self.time:%Y-%m-%d %H:%M:%S}"


class RetentionPolicy(models.Model):
    """How long an organization's raw samples are kept; minute and hour rollups are kept regardless."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="telemetry_retention")
    raw_days = models.PositiveIntegerField(default=30, help_text="Days of raw samples to keep (at least 1).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"
        constraints = [models.CheckConstraint(condition=models.Q(raw_days__gte=1), name="raw_days_at_least_one")]

    def __str__(self):
        return f"{self.organization}: {self.raw_days} days raw"


class FaultKind(models.TextChoices):
    SPIKE = "spike", "Spike"
    DRIFT = "drift", "Drift"
    STUCK = "stuck", "Stuck value"
    DROPOUT = "dropout", "Dropout"
    NOISE_BURST = "noise_burst", "Noise burst"


class InjectedFault(models.Model):
    """A fault the simulator injected, with its times: the ground truth to score detection against."""

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="injected_faults")
    parameter = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=FaultKind.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    magnitude = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["spacecraft", "started_at"])]

    def __str__(self):
        return f"{self.kind} on {self.parameter} {self.started_at:%H:%M:%S}-{self.ended_at:%H:%M:%S}"
