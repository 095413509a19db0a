"""Alarms (ISA-18.2), their workflow, and the per-detector cursors the sweeps advance.

An Anomaly is one *alarm* of one (spacecraft, parameter) condition: it opens on the first detector
whose violation persists and lives until the parameter is back to normal and the alarm is
acknowledged (or resolved). Every detector that fires meanwhile is recorded on it (`detectors`:
kind, threshold, first and last time, peak, whether it still holds); its severity is the highest of
theirs. A condition that clears and returns before anyone acknowledged it comes back on the same
row (`returns`; `chattering` once it returns too often). A parameter has at most one live alarm
(`closed_at` null), whatever number of sweeps run at once.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from missionops.models import Organization
from spacecraft.models import Spacecraft
from telemetry.models import ParameterDefinition


class Severity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlarmState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SHELVED = "shelved", "Shelved"
    OUT_OF_SERVICE = "out_of_service", "Out of service"
    RESOLVED = "resolved", "Resolved"


class DetectorKind(models.TextChoices):
    LIMIT = "limit", "Limits"
    RATE = "rate", "Rate of change"
    STALE = "stale", "Stale data"
    FLATLINE = "flatline", "Stuck value"
    ZSCORE = "zscore", "Rolling z-score"
    IQR = "iqr", "IQR fences"
    EWMA = "ewma", "EWMA control chart"
    FORECAST = "forecast", "Time to limit"


class IsaState(models.TextChoices):
    """The ISA-18.2 alarm states, derived from the workflow state and the condition."""

    NORMAL = "normal", "Normal"
    UNACKNOWLEDGED = "unacknowledged", "Unacknowledged"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RTN_UNACKNOWLEDGED = "rtn_unacknowledged", "Returned to normal, unacknowledged"
    SHELVED = "shelved", "Shelved"
    SUPPRESSED = "suppressed", "Suppressed by design"
    OUT_OF_SERVICE = "out_of_service", "Out of service"


def duration_text(seconds: float) -> str:
    """3 h 20 min, 12 min, 40 s: how far away a forecast crossing is."""
    seconds = max(0, int(round(seconds)))
    hours, minutes = divmod(seconds // 60, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


SEVERITY_RANK = {Severity.WARNING: 1, Severity.CRITICAL: 2}
LIVE_ALARM = Q(closed_at__isnull=True)


class AnomalyQuerySet(models.QuerySet):
    def live(self):
        """Alarms still accepting detections: not back to normal and acknowledged, not resolved."""
        return self.filter(LIVE_ALARM)

    def unresolved(self):
        return self.exclude(state=AlarmState.RESOLVED)

    def by_urgency(self):
        """Critical before warning, then oldest first: the order an operator works through."""
        return self.annotate(
            severity_rank=models.Case(models.When(severity=Severity.CRITICAL, then=0), default=1)
        ).order_by("severity_rank", "started_at", "id")


class Anomaly(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="anomalies")
    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="anomalies")
    parameter = models.ForeignKey(ParameterDefinition, on_delete=models.CASCADE, related_name="anomalies")
    parameter_name = models.CharField(max_length=64)
    subsystem = models.CharField(max_length=16, blank=True)
    units = models.CharField(max_length=32, blank=True)
    detector = models.CharField(
        max_length=16, choices=DetectorKind.choices, help_text="The detector shown: the most severe, first."
    )
    detectors = models.JSONField(
        default=list,
        blank=True,
        help_text="Every detector that fired on this alarm: kind, severity, threshold, first/last time, peak, active.",
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    state = models.CharField(max_length=16, choices=AlarmState.choices, default=AlarmState.OPEN)
    threshold = models.CharField(max_length=32, help_text="The threshold violated, e.g. crit_high or zscore>6.")
    threshold_value = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=300)
    mode = models.CharField(max_length=16, blank=True, help_text="Spacecraft mode at onset (per-mode limits).")
    # The episode.
    started_at = models.DateTimeField(help_text="Time of the first violating sample.")
    detected_at = models.DateTimeField(help_text="Time the violation had persisted long enough to open.")
    last_seen_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    peak_value = models.FloatField(null=True, blank=True)
    peak_at = models.DateTimeField(null=True, blank=True)
    peak_score = models.FloatField(default=0.0, help_text="How far out the peak was, in the detector's measure.")
    sample_count = models.PositiveIntegerField(default=0)
    critical_since = models.DateTimeField(null=True, blank=True)
    latching = models.BooleanField(default=False)
    latched = models.BooleanField(default=False, help_text="Back to normal, held until acknowledged.")
    is_late = models.BooleanField(default=False, help_text="Found in played-back telemetry: recorded, never paged.")
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="No longer accepts detections: back to normal and acknowledged, or resolved."
    )
    returns = models.PositiveIntegerField(default=0, help_text="Times the condition came back after clearing.")
    activations = models.JSONField(default=list, blank=True, help_text="[start, end] of each time the condition held.")
    chattering = models.BooleanField(default=False, help_text="Returned too often in a short time: folded, flagged.")
    suppressed_by = models.CharField(
        max_length=64, blank=True, help_text="Suppressed by design (e.g. 'mode safe'): recorded, never paged."
    )
    context = models.JSONField(default=dict, blank=True, help_text="The subsystem's other parameters at onset.")
    # The alarm workflow.
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    shelved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shelved_at = models.DateTimeField(null=True, blank=True)
    shelved_until = models.DateTimeField(null=True, blank=True)
    shelved_from = models.CharField(max_length=16, choices=AlarmState.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_anomalies"
    )
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AnomalyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "anomalies"
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["parameter", "detector", "started_at"], name="anomaly_episode_once"),
            models.UniqueConstraint(fields=["parameter"], condition=LIVE_ALARM, name="one_live_alarm"),
            models.CheckConstraint(
                condition=~Q(state=AlarmState.SHELVED) | Q(shelved_until__isnull=False), name="shelved_has_until"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "state", "severity"], name="anomaly_org_state"),
            models.Index(fields=["spacecraft", "-started_at"], name="anomaly_sc_time"),
            models.Index(fields=["state", "shelved_until"], name="anomaly_shelved"),
        ]

    def __str__(self):
        return f"{self.spacecraft.designation}/{self.parameter_name} {self.detector} {self.threshold} ({self.severity})"

    @property
    def isa_state_label(self) -> str:
        return IsaState(self.isa_state).label

    @property
    def threshold_units(self) -> str:
        """The unit of `threshold_value`: the parameter's for limits and forecasts, per second for
        rates, none for the others (σ, IQRs, samples, seconds: the threshold's name says)."""
        if self.detector in (DetectorKind.LIMIT, DetectorKind.FORECAST):
            return self.units
        if self.detector == DetectorKind.RATE:
            return f"{self.units}/s" if self.units else "/s"
        return ""

    @property
    def isa_state(self) -> str:
        """The ISA-18.2 state: what the console shows next to the workflow state."""
        if self.state == AlarmState.RESOLVED:
            return IsaState.NORMAL
        if self.state == AlarmState.OUT_OF_SERVICE:
            return IsaState.OUT_OF_SERVICE
        if self.suppressed_by:
            return IsaState.SUPPRESSED
        if self.state == AlarmState.SHELVED:
            return IsaState.SHELVED
        active = self.cleared_at is None
        if self.state == AlarmState.OPEN:
            return IsaState.UNACKNOWLEDGED if active and not self.latched else IsaState.RTN_UNACKNOWLEDGED
        return IsaState.ACKNOWLEDGED if active else IsaState.NORMAL

    @property
    def is_open(self) -> bool:
        return self.state == AlarmState.OPEN

    @property
    def awaits_acknowledgement(self) -> bool:
        """Open, or shelved from open: what a latch holds for. One shelved after it was
        acknowledged returns to acknowledged, so it no longer waits for anyone."""
        if self.state == AlarmState.SHELVED:
            return self.shelved_from != AlarmState.ACKNOWLEDGED
        return self.state == AlarmState.OPEN

    @property
    def is_active(self) -> bool:
        """The condition holds (or is latched): not cleared yet."""
        return self.cleared_at is None

    # What the workflow allows from the current state (services.acknowledge/shelve/... enforce it).
    @property
    def can_acknowledge(self) -> bool:
        return self.state == AlarmState.OPEN

    @property
    def can_shelve(self) -> bool:
        return self.state in (AlarmState.OPEN, AlarmState.ACKNOWLEDGED)

    @property
    def can_unshelve(self) -> bool:
        return self.state == AlarmState.SHELVED

    @property
    def can_resolve(self) -> bool:
        return self.state != AlarmState.RESOLVED

    def describe(self) -> str:
        """One line naming the threshold violated, used in every message and page."""
        units = f" {self.units}" if self.units else ""
        threshold_units = f" {self.threshold_units}" if self.threshold_units else ""
        limit = f" {self.threshold_value:g}{threshold_units}" if self.threshold_value is not None else ""
        peak_units = " s" if self.detector == DetectorKind.STALE else units
        peak = f"; peak {self.peak_value:g}{peak_units}" if self.peak_value is not None else ""
        kinds = ", ".join(d["kind"] for d in self.detectors) or self.detector
        if self.detector == DetectorKind.FORECAST and self.peak_value is not None:
            limit_name = self.threshold.split()[-1]
            return (
                f"{self.parameter_name} will cross {limit_name}{limit} in ~{duration_text(self.peak_value)} "
                f"(forecast; {kinds})"
            )
        return f"{self.parameter_name} violated {self.threshold}{limit} ({kinds}){peak}"


class AnomalyComment(models.Model):
    anomaly = models.ForeignKey(Anomaly, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.author}: {self.text[:40]}"


class DetectorCursor(models.Model):
    """How far one detector has evaluated one parameter, with the episode tracker's carried state
    (hysteresis, violation run for persistence, good run for clearing). Sweeps claim cursors with
    FOR UPDATE SKIP LOCKED and only apply samples newer than `evaluated_until`, so a second run over
    the same data changes nothing."""

    parameter = models.ForeignKey(ParameterDefinition, on_delete=models.CASCADE, related_name="+")
    detector = models.CharField(max_length=16, choices=DetectorKind.choices)
    evaluated_until = models.DateTimeField(null=True, blank=True)
    state = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=False, help_text="A violation run or an open episode is being carried.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["parameter", "detector"], name="one_cursor_per_detector")]
        indexes = [
            models.Index(fields=["parameter", "detector"], condition=Q(active=True), name="cursor_active"),
        ]

    def __str__(self):
        return f"{self.parameter_id}/{self.detector} @ {self.evaluated_until}"


class Arrival(models.Model):
    """Samples of one parameter that arrived and await the sweeps: written in the ingest transaction
    (only when the batch stored something new), consumed by the next sweep. Sweeps follow these,
    not the wall clock, so telemetry played back days late is analysed like live telemetry."""

    parameter = models.ForeignKey(ParameterDefinition, on_delete=models.CASCADE, related_name="+")
    first_time = models.DateTimeField()
    last_time = models.DateTimeField()
    arrived_at = models.DateTimeField()
    limits_checked = models.BooleanField(
        default=False, help_text="Ingest already ran the limit check on these samples (live, in order)."
    )

    class Meta:
        indexes = [models.Index(fields=["parameter", "id"], name="arrival_parameter")]

    def __str__(self):
        return f"{self.parameter_id}: {self.first_time} .. {self.last_time}"


class AlarmPolicy(models.Model):
    """An organization's escalation rules: who is on call and how long a critical may wait."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="alarm_policy")
    on_call_emails = ArrayField(models.EmailField(), default=list, blank=True)
    escalate_after_s = models.PositiveIntegerField(
        default=900, help_text="A critical not acknowledged this long escalates; each further period, one level more."
    )
    max_escalation_level = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "alarm policies"
        constraints = [
            models.CheckConstraint(condition=Q(escalate_after_s__gte=1), name="escalate_after_positive"),
        ]

    def __str__(self):
        return f"{self.organization}: escalate after {self.escalate_after_s} s"
