"""The spacecraft registry: constellations, spacecraft with live state, versioned configuration."""

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
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
    # The simulated on-board state that commands act on: payload_on, link_available, boot_count...
    runtime = models.JSONField(default=dict, blank=True)
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


class CommandState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RELEASED = "released", "Released"
    SENT = "sent", "Sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    CANCELED = "canceled", "Canceled"


class ReleaseMode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    NEXT_CONTACT = "next_contact", "At the next scheduled contact"


class Command(models.Model):
    """One telecommand in a spacecraft's queue. Every transition is timed and recorded as an event."""

    FINAL_STATES = (CommandState.EXECUTED, CommandState.FAILED, CommandState.TIMED_OUT, CommandState.CANCELED)
    CANCELABLE_STATES = (CommandState.QUEUED, CommandState.RELEASED)

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="commands")
    name = models.CharField(max_length=64)
    args = models.JSONField(default=dict, blank=True)
    critical = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(default=5, help_text="1 (highest) to 9")
    state = models.CharField(max_length=16, choices=CommandState.choices, default=CommandState.QUEUED, db_index=True)
    release_mode = models.CharField(max_length=16, choices=ReleaseMode.choices, default=ReleaseMode.IMMEDIATE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    result = models.JSONField(default=dict, blank=True)
    ack_timeout_s = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["priority", "created_at"]
        indexes = [models.Index(fields=["spacecraft", "state", "priority", "created_at"], name="command_queue")]
        constraints = [
            models.CheckConstraint(condition=models.Q(priority__gte=1, priority__lte=9), name="command_priority_range")
        ]

    def __str__(self):
        return f"{self.name} → {self.spacecraft.designation} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    @property
    def awaiting_approval(self) -> bool:
        return self.critical and self.approved_by_id is None and self.state == CommandState.QUEUED

    @property
    def can_cancel(self) -> bool:
        """Whether the command may still be canceled (it has not been sent)."""
        return self.state in self.CANCELABLE_STATES


class DocumentCategory(models.TextChoices):
    CONFIGURATION = "configuration", "Configuration specification"
    TELEMETRY = "telemetry", "Telemetry definition"
    PROCEDURE = "procedure", "Procedure"
    NOTE = "note", "Mission note"
    REPORT = "report", "Report"


class DocumentState(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Document(models.Model):
    """An operational document; the editable head. Every save keeps a DocumentVersion."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="documents")
    spacecraft = models.ForeignKey(
        Spacecraft, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    category = models.CharField(max_length=16, choices=DocumentCategory.choices, db_index=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="Markdown")
    state = models.CharField(max_length=16, choices=DocumentState.choices, default=DocumentState.DRAFT)
    version = models.PositiveIntegerField(default=1)
    published_version = models.PositiveIntegerField(null=True, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [GinIndex(fields=["search_vector"], name="document_search")]

    def __str__(self):
        return self.title


class DocumentVersion(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    published = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-version"]
        constraints = [models.UniqueConstraint(fields=["document", "version"], name="one_document_version_number")]

    def __str__(self):
        return f"{self.document} v{self.version}"


def attachment_path(instance, filename):
    return f"documents/{instance.document.organization_id}/{instance.document_id}/{uuid.uuid4().hex}/{filename}"


class DocumentAttachment(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(max_length=200)
    size_bytes = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
