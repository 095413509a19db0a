"""The spacecraft registry: constellations, spacecraft with live state, versioned configuration."""

import uuid

from django.conf import settings
from django.db import models

from missionops.models import Organization


class Mode(models.TextChoices):
    """Spacecraft operating mode: the one enum backend, API schema and pages all use."""

    NOMINAL = "nominal", "Nominal"
    SAFE = "safe", "Safe"
    SURVIVAL = "survival", "Survival"
    STANDBY = "standby", "Standby"


class MissionType(models.TextChoices):
    LEO_IMAGING = "LEO_IMAGING", "LEO imaging"
    GNSS = "GNSS", "GNSS navigation"
    GEO_COMMS = "GEO_COMMS", "GEO communications"
    CUBESAT = "CUBESAT", "CubeSat"
    ROVER = "ROVER", "Rover"
    PROBE = "PROBE", "Deep-space probe"
    STATION = "STATION", "Space station"


class Subsystem(models.TextChoices):
    POWER = "power", "Power"
    THERMAL = "thermal", "Thermal"
    COMMS = "comms", "Communications"
    ADCS = "adcs", "Attitude determination and control"
    PAYLOAD = "payload", "Payload"
    OBC = "obc", "On-board computer"


class ParameterType(models.TextChoices):
    FLOAT = "float", "Float"
    INT = "int", "Integer"
    BOOL = "bool", "Boolean"
    ENUM = "enum", "Enumeration"


class Constellation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="constellations")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="constellation_name_per_org")]

    def __str__(self):
        return self.name


def default_safe_soc_pct():
    return settings.SAFE_MODE_SOC_PCT


def default_survival_soc_pct():
    return settings.SURVIVAL_MODE_SOC_PCT


class Spacecraft(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="spacecraft")
    designation = models.CharField(max_length=32, help_text="Short operational id, e.g. SC-001.")
    name = models.CharField(max_length=120)
    norad_id = models.PositiveIntegerField(null=True, blank=True)
    mission_type = models.CharField(max_length=16, choices=MissionType.choices)
    constellation = models.ForeignKey(
        Constellation, null=True, blank=True, on_delete=models.SET_NULL, related_name="spacecraft"
    )
    # Live state.
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.NOMINAL, db_index=True)
    battery_soc_pct = models.FloatField(default=100.0)
    memory_used_pct = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)
    # Mode rules: below these states of charge the spacecraft is forced to safe / survival.
    safe_soc_threshold_pct = models.FloatField(default=default_safe_soc_pct)
    survival_soc_threshold_pct = models.FloatField(default=default_survival_soc_pct)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["designation"]
        verbose_name_plural = "spacecraft"
        permissions = [("operate_spacecraft", "Can operate spacecraft (state, config, commands)")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "designation"], name="designation_per_org"),
            models.UniqueConstraint(fields=["organization", "norad_id"], name="norad_id_per_org"),
            models.CheckConstraint(
                condition=models.Q(battery_soc_pct__gte=0, battery_soc_pct__lte=100), name="battery_soc_range"
            ),
            models.CheckConstraint(
                condition=models.Q(memory_used_pct__gte=0, memory_used_pct__lte=100), name="memory_used_range"
            ),
            models.CheckConstraint(
                condition=models.Q(survival_soc_threshold_pct__lte=models.F("safe_soc_threshold_pct")),
                name="survival_below_safe_threshold",
            ),
        ]

    def __str__(self):
        return f"{self.designation} {self.name}"

    def mode_forced_by_battery(self) -> Mode | None:
        """The mode the battery rules impose at the current state of charge, if any."""
        if self.battery_soc_pct < self.survival_soc_threshold_pct:
            return Mode.SURVIVAL
        if self.battery_soc_pct < self.safe_soc_threshold_pct:
            return Mode.SAFE
        return None

    @property
    def current_config(self) -> "ConfigVersion | None":
        return self.config_versions.order_by("-version").first()


class ConfigVersion(models.Model):
    """One immutable version of a spacecraft's parameter set.

    `parameters` maps a parameter name to {subsystem, units, type, warn_low, warn_high,
    crit_low, crit_high, ...}; `diff` records what changed from the previous version.
    """

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="config_versions")
    version = models.PositiveIntegerField()
    parameters = models.JSONField(default=dict)
    diff = models.JSONField(default=dict)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["spacecraft", "-version"]
        constraints = [models.UniqueConstraint(fields=["spacecraft", "version"], name="one_config_version_number")]

    def __str__(self):
        return f"{self.spacecraft.designation} config v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("configuration versions are immutable; create a new version")
        super().save(*args, **kwargs)
