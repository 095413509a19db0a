"""The alarm workflow: acknowledge, shelve (auto-unshelve), resolve, comment, assign, tag, bulk
actions, escalation of unacknowledged criticals, and each organization's alarm policy.

Every operation locks the anomaly row, checks the transition against its current state (409
naming it otherwise) and the user's `operate_spacecraft` permission (403), records an event and
pushes a live message. Detection itself lives in `limit_checks` (inline) and `sweeps`.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from missionops.exceptions import DomainError
from missionops.models import OPERATING_ROLES, Membership, Organization
from spacecraft.selectors import can_operate

from .. import config, notify
from ..exceptions import AlarmPermissionError, AlarmStateError
from ..models import AlarmPolicy, AlarmState, Anomaly, AnomalyComment, Severity

MAX_SHELVE = dt.timedelta(days=7)
MAX_TAGS = 10


class BulkAction:
    ACKNOWLEDGE, SHELVE, RESOLVE = "acknowledge", "shelve", "resolve"
    ALL = (ACKNOWLEDGE, SHELVE, RESOLVE)


def _locked(anomaly: Anomaly) -> Anomaly:
    return Anomaly.objects.select_for_update().select_related("spacecraft", "organization").get(pk=anomaly.pk)


def _require_operator(user, anomaly: Anomaly) -> None:
    if not can_operate(user, anomaly.spacecraft):
        raise AlarmPermissionError(f"you may view but not operate {anomaly.spacecraft.designation}")


def _conflict(anomaly: Anomaly, action: str, allowed) -> AlarmStateError:
    wanted = " or ".join(str(s) for s in allowed)
    return AlarmStateError(f"cannot {action} anomaly {anomaly.pk}: it is {anomaly.state}, not {wanted}", field="state")


def _close_if_normal(anomaly: Anomaly, now: dt.datetime, fields: list[str]) -> None:
    """Back to normal and acknowledged: the alarm is over; the next excursion is a new alarm."""
    if anomaly.cleared_at is not None and anomaly.closed_at is None:
        anomaly.closed_at = now
        fields.append("closed_at")


def _release_latch(anomaly: Anomaly, now: dt.datetime, fields: list[str]) -> bool:
    """A latched anomaly (its condition already over) clears now; the caller saves `fields`."""
    if not anomaly.latched:
        return False
    anomaly.latched, anomaly.cleared_at = False, now
    fields += ["latched", "cleared_at"]
    return True


@transaction.atomic
def acknowledge(*, anomaly: Anomaly, user, note: str = "", now: dt.datetime | None = None) -> Anomaly:
    """open → acknowledged. Stops escalation; a latched anomaly that is back to normal clears now."""
    anomaly = _locked(anomaly)
    _require_operator(user, anomaly)
    if not anomaly.can_acknowledge:
        raise _conflict(anomaly, "acknowledge", [AlarmState.OPEN])
    now = now or timezone.now()
    anomaly.state, anomaly.acknowledged_by, anomaly.acknowledged_at = AlarmState.ACKNOWLEDGED, user, now
    fields = ["state", "acknowledged_by", "acknowledged_at", "updated_at"]
    unlatched = _release_latch(anomaly, now, fields)
    _close_if_normal(anomaly, now, fields)
    anomaly.save(update_fields=fields)
    notify.anomaly_changed(anomaly, "anomaly.acknowledged", actor=user, payload={"note": note})
    if unlatched:
        notify.anomaly_changed(anomaly, "anomaly.cleared", actor=user, payload={"latched": True})
    return anomaly


@transaction.atomic
def shelve(*, anomaly: Anomaly, user, until: dt.datetime, note: str = "", now: dt.datetime | None = None) -> Anomaly:
    """open or acknowledged → shelved until `until` (at most 7 days); back to where it was after."""
    anomaly = _locked(anomaly)
    _require_operator(user, anomaly)
    now = now or timezone.now()
    _check_until(until, now)
    if not anomaly.can_shelve:
        raise _conflict(anomaly, "shelve", [AlarmState.OPEN, AlarmState.ACKNOWLEDGED])
    anomaly.shelved_from = anomaly.state
    anomaly.state, anomaly.shelved_by, anomaly.shelved_at, anomaly.shelved_until = AlarmState.SHELVED, user, now, until
    anomaly.save(update_fields=["state", "shelved_from", "shelved_by", "shelved_at", "shelved_until", "updated_at"])
    notify.anomaly_changed(anomaly, "anomaly.shelved", actor=user, payload={"note": note, "until": until.isoformat()})
    return anomaly


def _check_until(until, now) -> None:
    if not isinstance(until, dt.datetime) or until.tzinfo is None:
        raise DomainError("until must be a time with a UTC offset", field="until")
    if until <= now:
        raise DomainError("until must lie in the future", field="until")
    if until - now > MAX_SHELVE:
        raise DomainError("an alarm may be shelved for at most 7 days", field="until")


@transaction.atomic
def unshelve(*, anomaly: Anomaly, user=None, now: dt.datetime | None = None) -> Anomaly:
    """shelved → the state it was shelved from (by an operator, or by the clock at `shelved_until`).
    A latched anomaly going back to acknowledged clears now, as acknowledging it would have: a latch
    only waits for an acknowledgement, and nothing could acknowledge it again."""
    anomaly = _locked(anomaly)
    if user is not None:
        _require_operator(user, anomaly)
    if not anomaly.can_unshelve:
        raise _conflict(anomaly, "unshelve", [AlarmState.SHELVED])
    now = now or timezone.now()
    anomaly.state = anomaly.shelved_from or AlarmState.OPEN
    anomaly.shelved_until = None
    fields = ["state", "shelved_until", "updated_at"]
    unlatched = anomaly.state == AlarmState.ACKNOWLEDGED and _release_latch(anomaly, now, fields)
    if anomaly.state == AlarmState.ACKNOWLEDGED:
        _close_if_normal(anomaly, now, fields)
    anomaly.save(update_fields=fields)
    notify.anomaly_changed(anomaly, "anomaly.unshelved", actor=user, payload={"automatic": user is None})
    if unlatched:
        notify.anomaly_changed(anomaly, "anomaly.cleared", actor=user, payload={"latched": True})
    return anomaly


@transaction.atomic
def remove_from_service(*, anomaly: Anomaly, user, note: str = "", now: dt.datetime | None = None) -> Anomaly:
    """open, acknowledged or shelved → out of service (ISA-18.2: e.g. a sensor under maintenance):
    shown, never escalated, until returned to service. A note should say why."""
    anomaly = _locked(anomaly)
    _require_operator(user, anomaly)
    if anomaly.state not in (AlarmState.OPEN, AlarmState.ACKNOWLEDGED, AlarmState.SHELVED):
        raise _conflict(anomaly, "take out of service", [AlarmState.OPEN, AlarmState.ACKNOWLEDGED, AlarmState.SHELVED])
    anomaly.state, anomaly.shelved_until = AlarmState.OUT_OF_SERVICE, None
    anomaly.save(update_fields=["state", "shelved_until", "updated_at"])
    notify.anomaly_changed(anomaly, "anomaly.out_of_service", actor=user, payload={"note": note})
    return anomaly


@transaction.atomic
def return_to_service(*, anomaly: Anomaly, user, note: str = "") -> Anomaly:
    """out of service → open: back in service, it waits for an acknowledgement again."""
    anomaly = _locked(anomaly)
    _require_operator(user, anomaly)
    if anomaly.state != AlarmState.OUT_OF_SERVICE:
        raise _conflict(anomaly, "return to service", [AlarmState.OUT_OF_SERVICE])
    anomaly.state = AlarmState.OPEN
    anomaly.save(update_fields=["state", "updated_at"])
    notify.anomaly_changed(anomaly, "anomaly.returned_to_service", actor=user, payload={"note": note})
    return anomaly


def unshelve_due(*, now: dt.datetime | None = None) -> int:
    """Unshelve every alarm whose shelf time is over; returns how many. Idempotent."""
    now = now or timezone.now()
    count = 0
    for pk in Anomaly.objects.filter(state=AlarmState.SHELVED, shelved_until__lte=now).values_list("pk", flat=True):
        try:
            unshelve(anomaly=Anomaly(pk=pk), now=now)
            count += 1
        except (AlarmStateError, Anomaly.DoesNotExist):
            continue  # someone else got there first
    return count


@transaction.atomic
def resolve(*, anomaly: Anomaly, user, note: str = "", now: dt.datetime | None = None) -> Anomaly:
    """open, acknowledged or shelved → resolved (final). A condition that still holds afterwards
    opens a new episode."""
    anomaly = _locked(anomaly)
    _require_operator(user, anomaly)
    if not anomaly.can_resolve:
        raise _conflict(anomaly, "resolve", [AlarmState.OPEN, AlarmState.ACKNOWLEDGED, AlarmState.SHELVED])
    now = now or timezone.now()
    anomaly.state, anomaly.resolved_by, anomaly.resolved_at = AlarmState.RESOLVED, user, now
    anomaly.shelved_until = None
    fields = ["state", "resolved_by", "resolved_at", "shelved_until", "updated_at"]
    _release_latch(anomaly, now, fields)
    if anomaly.closed_at is None:
        anomaly.closed_at = now
        fields.append("closed_at")
    anomaly.save(update_fields=fields)
    notify.anomaly_changed(anomaly, "anomaly.resolved", actor=user, payload={"note": note})
    return anomaly


@transaction.atomic
def add_comment(*, anomaly: Anomaly, user, text: str) -> AnomalyComment:
    """Add an operator's comment (1 to 4000 characters) and announce it."""
    anomaly = _locked(anomaly)
    _require_operator(user, anomaly)
    text = (text or "").strip()
    if not text:
        raise DomainError("a comment needs some text", field="text")
    if len(text) > 4000:
        raise DomainError("a comment is at most 4000 characters", field="text")
    comment = AnomalyComment.objects.create(anomaly=anomaly, author=user, text=text)
    notify.anomaly_changed(anomaly, "anomaly.commented", actor=user, payload={"comment": text[:500]})
    return comment


@transaction.atomic
def assign(*, anomaly: Anomaly, user, username: str | None) -> Anomaly:
    """Give the anomaly to the operator of its organization named `username` (None: unassign).
    A name that is no operator here gets one answer, whether or not it exists elsewhere: the
    refusal must not tell other organizations' usernames apart from unknown ones."""
    anomaly = _locked(anomaly)
    _require_operator(user, anomaly)
    assignee = None
    if username:
        membership = (
            Membership.objects.filter(
                organization_id=anomaly.organization_id,
                user__username=username,
                user__is_active=True,
                role__in=OPERATING_ROLES,
            )
            .select_related("user")
            .first()
        )
        if membership is None:
            raise DomainError(f"{username!r} is not an operator of {anomaly.organization.slug}", field="assignee")
        assignee = membership.user
    anomaly.assignee = assignee
    anomaly.save(update_fields=["assignee", "updated_at"])
    notify.anomaly_changed(
        anomaly, "anomaly.assigned", actor=user, payload={"to": assignee.get_username() if assignee else None}
    )
    return anomaly


@transaction.atomic
def set_tags(*, anomaly: Anomaly, user, tags: list[str]) -> Anomaly:
    """Replace the anomaly's tags (lowercased, deduplicated, sorted) and announce it."""
    anomaly = _locked(anomaly)
    _require_operator(user, anomaly)
    clean = sorted({str(t).strip().lower() for t in tags if str(t).strip()})
    if len(clean) > MAX_TAGS or any(len(t) > 40 for t in clean):
        raise DomainError(f"at most {MAX_TAGS} tags of at most 40 characters", field="tags")
    anomaly.tags = clean
    anomaly.save(update_fields=["tags", "updated_at"])
    notify.anomaly_changed(anomaly, "anomaly.tagged", actor=user, payload={"tags": clean})
    return anomaly


def bulk_apply(
    *, anomalies: QuerySet[Anomaly], user, action: str, until: dt.datetime | None = None, note: str = ""
) -> dict:
    """Apply one action to a selection (or a whole filter), all or nothing for permission: if the
    user may not operate any of the spacecraft involved, nothing changes (403). Alarms whose state
    does not allow the action are skipped and reported with their state."""
    if action not in BulkAction.ALL:
        raise DomainError(f"action must be one of {', '.join(BulkAction.ALL)}", field="action")
    if action == BulkAction.SHELVE:
        _check_until(until, timezone.now())
    rows = list(anomalies.select_related("spacecraft"))
    for sc in {a.spacecraft_id: a.spacecraft for a in rows}.values():
        if not can_operate(user, sc):
            raise AlarmPermissionError(f"you may view but not operate {sc.designation}")
    changed, skipped = [], []
    with transaction.atomic():
        for anomaly in rows:
            try:
                if action == BulkAction.ACKNOWLEDGE:
                    acknowledge(anomaly=anomaly, user=user, note=note)
                elif action == BulkAction.SHELVE:
                    shelve(anomaly=anomaly, user=user, until=until, note=note)
                else:
                    resolve(anomaly=anomaly, user=user, note=note)
                changed.append(anomaly.pk)
            except AlarmStateError:
                skipped.append({"id": anomaly.pk, "state": Anomaly.objects.get(pk=anomaly.pk).state})
    return {"action": action, "changed": changed, "skipped": skipped}


# --- escalation ----------------------------------------------------------------------------------


def policy_for(organization_id) -> AlarmPolicy:
    """The organization's policy, or one with the defaults from settings (not saved)."""
    policy = AlarmPolicy.objects.filter(organization_id=organization_id).first()
    if policy is None:
        policy = AlarmPolicy(
            organization_id=organization_id,
            on_call_emails=list(settings.ANOMALY_ON_CALL_EMAILS),
            escalate_after_s=config.escalate_after_s(),
        )
    return policy


@transaction.atomic
def set_policy(
    *, organization: Organization, on_call_emails: list[str], escalate_after_s: int, max_escalation_level: int = 3
) -> AlarmPolicy:
    """Create or replace the organization's escalation policy."""
    if escalate_after_s < 1:
        raise DomainError("escalate_after_s must be at least 1", field="escalate_after_s")
    policy, _ = AlarmPolicy.objects.update_or_create(
        organization=organization,
        defaults={
            "on_call_emails": on_call_emails,
            "escalate_after_s": escalate_after_s,
            "max_escalation_level": max_escalation_level,
        },
    )
    return policy


def escalate_due(*, now: dt.datetime | None = None) -> list[Anomaly]:
    """Escalate each critical that has stayed unacknowledged past its organization's
    `escalate_after_s` (level n after n periods): an anomaly.escalated event, a live message and a
    mail to the on-call addresses. A conditional UPDATE on the level makes a concurrent or repeated
    run harmless. One chain per alarm, whatever number of detectors fire on it; played-back (late),
    suppressed and shelved alarms never escalate."""
    now = now or timezone.now()
    escalated = []
    candidates = Anomaly.objects.filter(
        severity=Severity.CRITICAL, state=AlarmState.OPEN, is_late=False, suppressed_by="", critical_since__isnull=False
    ).select_related("spacecraft", "organization")
    policies: dict = {}
    for anomaly in candidates:
        policy = policies.get(anomaly.organization_id) or policies.setdefault(
            anomaly.organization_id, policy_for(anomaly.organization_id)
        )
        if anomaly.escalation_level >= policy.max_escalation_level:
            continue
        due = anomaly.critical_since + dt.timedelta(seconds=policy.escalate_after_s * (anomaly.escalation_level + 1))
        if due > now:
            continue
        with transaction.atomic():
            won = Anomaly.objects.filter(
                pk=anomaly.pk, state=AlarmState.OPEN, escalation_level=anomaly.escalation_level
            ).update(escalation_level=F("escalation_level") + 1, escalated_at=now)
            if not won:
                continue
            anomaly.refresh_from_db()
            notify.anomaly_changed(
                anomaly,
                "anomaly.escalated",
                payload={"level": anomaly.escalation_level, "notified": policy.on_call_emails},
            )
            notify.mail_escalation(anomaly, recipients=policy.on_call_emails)
        escalated.append(anomaly)
    return escalated
