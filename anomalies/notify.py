"""How an anomaly change reaches people: the event log (and its webhooks), live messages on
`alarms` and `sc.<id>`, and escalation e-mail. Alarms found in played-back telemetry, and alarms
suppressed by design, are logged but never pushed live or mailed: they must not page anyone."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from missionops import live
from missionops.representations import represent
from missionops.services import record_event

from .representations import AnomalySerializer

logger = logging.getLogger(__name__)


def message(anomaly) -> dict:
    """The alarm as the REST API shows it (`AnomalySerializer`): pushed live as `data` and stored in
    the payload of the events that record its changes."""
    return represent(AnomalySerializer, anomaly)


def anomaly_changed(anomaly, kind: str, *, actor=None, payload: dict | None = None) -> None:
    """Record `kind` (anomaly.detected, .acknowledged, ...) and push it to the alarm console."""
    data = message(anomaly)
    record_event(
        organization=anomaly.organization,
        kind=kind,
        subject=anomaly,
        actor=actor,
        spacecraft_id=anomaly.spacecraft_id,
        payload={**data, **(payload or {})},
    )
    if anomaly.is_late or anomaly.suppressed_by:
        return
    body = {"kind": kind, "data": data}
    live.publish("alarms", body, organization=anomaly.organization_id)
    live.publish(f"sc.{anomaly.spacecraft_id}", body, organization=anomaly.organization_id)


def mail_escalation(anomaly, *, recipients: list[str]) -> None:
    """E-mail the on-call addresses once the escalation commits (a rolled-back one sends nothing)."""
    if not recipients or anomaly.is_late or anomaly.suppressed_by:
        return
    subject = (
        f"[MissionOps] ESCALATION L{anomaly.escalation_level}: {anomaly.spacecraft.designation} "
        f"{anomaly.parameter_name} {anomaly.severity}"
    )
    body = (
        f"{anomaly.message}\n\n"
        f"Spacecraft: {anomaly.spacecraft.designation}\n"
        f"Threshold violated: {anomaly.threshold} ({anomaly.threshold_value})\n"
        f"Critical since: {anomaly.critical_since:%Y-%m-%d %H:%M:%S} UTC, not acknowledged\n"
        f"Escalation level: {anomaly.escalation_level}\n"
        f"Anomaly id: {anomaly.pk}\n"
    )
    sender = settings.ANOMALY_MAIL_FROM or settings.DEFAULT_FROM_EMAIL

    def send():
        try:
            send_mail(subject, body, sender, recipients, fail_silently=False)
        except Exception:  # the mail server is down: the escalation event stands, retried next level
            logger.warning("escalation mail for anomaly %s failed", anomaly.pk, exc_info=True)

    transaction.on_commit(send)
