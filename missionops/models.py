"""Platform models: tenancy (Organization, Membership) and the immutable Event log."""

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from .apikey_cache import keys_changed


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"


# The roles that may act (command, operate devices, submit jobs, edit documents), not only look.
OPERATING_ROLES = (Role.OPERATOR, Role.ADMIN)


class Organization(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    # Object permissions are granted to these groups, so a membership change is one group change.
    viewers_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+", editable=False)
    operators_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")]
        ordering = ["organization", "user"]

    def __str__(self):
        return f"{self.user} · {self.organization} ({self.role})"

    @property
    def can_operate(self) -> bool:
        return self.role in OPERATING_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ImmutableError(Exception):
    pass


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableError("events are immutable")

    def delete(self):
        raise ImmutableError("events are immutable")


class Event(models.Model):
    """One operational fact. Written once by a service, never changed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=64, db_index=True)
    # The subject is stored by type and id (not a FK) so deleting a subject keeps its history.
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    subject_repr = models.CharField(max_length=200, blank=True)
    spacecraft_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_repr = models.CharField(max_length=150, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="event_org_time"),
            models.Index(fields=["spacecraft_id", "-created_at"], name="event_sc_time"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind} {self.subject_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableError("events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("events are immutable")


def new_webhook_secret() -> str:
    import secrets

    return secrets.token_hex(32)


class Webhook(models.Model):
    """An organization's HTTP endpoint subscribed to event kinds (`*`, exact, or `prefix.`)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, default=new_webhook_secret)
    event_kinds = models.JSONField(default=list, help_text='e.g. ["mode.changed", "command.", "*"]')
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]

    def __str__(self):
        return f"{self.name} → {self.url}"

    def wants(self, kind: str) -> bool:
        return any(p == "*" or p == kind or (p.endswith(".") and kind.startswith(p)) for p in self.event_kinds)


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Succeeded"
    DEAD_LETTER = "dead_letter", "Dead letter (gave up; redeliver to retry)"


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook, with its attempts' outcome."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["webhook", "event"], name="one_delivery_per_event")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state__in=["pending", "retrying"]),
                name="delivery_in_flight_due",
            )
        ]

    def __str__(self):
        return f"{self.event.kind} → {self.webhook.name} ({self.state})"


class ApiScope(models.TextChoices):
    READ = "read", "Read"
    INGEST = "ingest", "Ingest telemetry"
    OPERATE = "operate", "Operate"
    ADMIN = "admin", "Administer"


class ApiKeyQuerySet(models.QuerySet):
    """Writes through it make every process forget its cached keys (missionops.services.apikeys), except
    the last_used_at refresh."""

    def update(self, **kwargs):
        rows = super().update(**kwargs)
        if set(kwargs) != {"last_used_at"}:
            _keys_changed()
        return rows

    def delete(self):
        result = super().delete()
        _keys_changed()
        return result


def _keys_changed():
    keys_changed()


class ApiKey(models.Model):
    """An organization's API key. Only a SHA-256 of the key is stored; the key is shown once.

    Each key acts through its own service user (a member of the organization with the role its
    scopes imply), so every organization and object-permission check applies to keys unchanged;
    the scopes then narrow what the key may do (missionops.api_authentication.ApiKeyScope).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12, unique=True, help_text="Public part, shown in listings")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    service_user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_key")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
        help_text="Set on rotation: this key stays valid until expires_at (the grace period)",
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def save(self, *args, **kwargs):
        changing = not self._state.adding and kwargs.get("update_fields") != ["last_used_at"]
        super().save(*args, **kwargs)
        if changing:  # a new key is in no cache yet
            _keys_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _keys_changed()
        return result

    def is_usable(self, at) -> bool:
        return self.revoked_at is None and (self.expires_at is None or at < self.expires_at)


class EventOutbox(models.Model):
    """An event waiting to leave on the NATS JetStream stream (missionops.services.event_stream).

    Written in the transaction that writes the event, so an event exists if and only if its outbox
    row does; the relay marks it published once JetStream has acknowledged it.
    """

    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    stream_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "event outbox"
        indexes = [
            models.Index(fields=["id"], name="outbox_unpublished", condition=models.Q(published_at__isnull=True))
        ]

    def __str__(self):
        state = f"seq {self.stream_sequence}" if self.published_at else "pending"
        return f"{self.subject} ({state})"
