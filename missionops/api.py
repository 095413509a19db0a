"""Shared API pieces: the exception handler, pagination, tenancy helpers, events and organizations."""

import datetime as dt
import re

import django_filters
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .api_pagination import NewestFirstCursorPagination  # noqa: F401 (the apps import it from here)
from .exceptions import DomainError
from .filters import ScopedFilterSet, UTCDateTimeFilter
from .ids import decimal_id
from .models import Event, Membership, Organization, Role
from .replicas import read_lag_tolerant
from .representations import EventSerializer
from .tenancy import membership_for, organizations_for, visible_events


def exception_handler(exc, context):
    """The one place domain errors become HTTP: 400/409 naming the field, 503 for a lost database."""
    if isinstance(exc, DomainError):
        body = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
            body["errors"] = {exc.field: [exc.message]}
        return Response(body, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):  # a form or multipart body past DATA_UPLOAD_MAX_MEMORY_SIZE
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response({"detail": f"request body larger than {limit} bytes (the limit)"}, status=413)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": "; ".join(exc.messages), "errors": getattr(exc, "message_dict", {})}, status=400)
    if isinstance(exc, IntegrityError):
        return Response({"detail": "the change conflicts with existing data"}, status=409)
    if isinstance(exc, DataError):  # a value PostgreSQL refuses (out of range, malformed)
        return Response({"detail": f"invalid value in the request: {str(exc).splitlines()[0]}"}, status=400)
    if isinstance(exc, OperationalError | InterfaceError):
        response = Response({"detail": "database unavailable, retry shortly"}, status=503)
        response["Retry-After"] = "5"
        return response
    response = drf_exception_handler(exc, context)
    if isinstance(exc, ValidationError) and response is not None:
        response.data = with_detail(response.data)
    return response


def with_detail(data):
    """Every 400 carries `detail` (one sentence) and `field` (the first input at fault), next to
    DRF's per-field lists, so clients can show one message and still highlight each field."""
    if isinstance(data, list):
        return {"detail": "; ".join(str(m) for m in data) or "invalid input"}
    if not isinstance(data, dict) or "detail" in data:
        return data
    field, messages = next(iter(data.items()), ("", []))
    path = field
    while isinstance(messages, dict) and messages:  # nested serializers: name the innermost field
        key, messages = next(iter(messages.items()))
        path = f"{path}.{key}"
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        index, inner = next(((i, m) for i, m in enumerate(messages) if m), (0, {}))
        key, messages = next(iter(inner.items()), ("", []))
        path = f"{path}.{index}.{key}"
    first = messages[0] if isinstance(messages, list) and messages else messages
    # An object's own errors (not one of its fields') name the object: "jobs", or "input" at the top.
    name = "input" if path == "non_field_errors" else path.removesuffix(".non_field_errors")
    return {**data, "detail": f"{name}: {first}", "field": name}


# A "+01:00" offset sent unencoded in a query string arrives as " 01:00".
UNENCODED_PLUS = re.compile(r" (?=\d{2}(:?\d{2})?$)")


class UTCDateTimeField(serializers.DateTimeField):
    """A time in a query: ISO 8601 with a UTC offset, returned in UTC. A naive time is refused,
    not read as server time, so a client never gets another hour than it meant."""

    default_error_messages = {
        "naive": "give a UTC offset (Z or +00:00), e.g. 2026-01-01T06:00:00Z",
        "overflow": "out of range: in UTC, the time must lie in the years 1 to 9999",
    }

    def to_internal_value(self, value):
        if isinstance(value, str) and "T" in value:
            value = UNENCODED_PLUS.sub("+", value.strip())
        return super().to_internal_value(value)

    def enforce_timezone(self, value):
        if value.utcoffset() is None:
            self.fail("naive")
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            self.fail("overflow")


class DecimalIdField(serializers.IntegerField):
    """A numeric id typed into a query: ASCII digits that fit a bigint (int() also reads "١" or "1.0")."""

    default_error_messages = {"invalid": "an id: digits 0-9 only"}

    def __init__(self, **kwargs):
        # The range decimal_id reads, stated for the schema (no sign, at most 18 digits).
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 10**18 - 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = decimal_id(str(data))
        if value is None:
            self.fail("invalid")
        return value


class StringField(serializers.CharField):
    """A JSON string and nothing else (DRF's CharField also takes 5 or 1.5 and keeps "5")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def validated_query(serializer_class: type[serializers.Serializer], request) -> dict:
    """The request's query parameters through `serializer_class` (also its OpenAPI `parameters`):
    a bad one is the usual 400 naming it."""
    query = serializer_class(data=request.query_params, context={"request": request})
    # DRF reads an empty value in a query string as "not given": refuse it where it cannot be meant.
    blank = {
        name: ["give a value, or leave the parameter out"]
        for name, field in query.fields.items()
        if request.query_params.get(name) == "" and not getattr(field, "allow_blank", False)
    }
    if blank:
        raise ValidationError(blank)
    query.is_valid(raise_exception=True)
    return query.validated_data


def username_field(source: str) -> serializers.CharField:
    """A user shown by username; null when there is none (system actions, deleted users)."""
    return serializers.CharField(source=f"{source}.username", read_only=True, allow_null=True)


def roles_text(roles) -> str:
    """Roles as a message says them, least first: "operator or admin"."""
    return " or ".join(sorted({str(r) for r in roles}, key=Role.values.index))


class RoleRequired(PermissionDenied):
    """403 for a member who lacks the role: names the roles that would do, the organization, what
    was refused and the role the caller holds there, worded the same on every endpoint."""

    def __init__(self, organization: Organization, roles, *, action: str, held: str | None = None):
        having = f"your role there: {held}" if held else "you are not a member"
        super().__init__(
            f"you need the {roles_text(roles)} role in organization '{organization.slug}' to {action} ({having})"
        )


def require_role(user, organization: Organization, *roles: Role, action: str) -> Membership:
    """The caller's membership in `organization` if it holds one of `roles` there, else
    `RoleRequired` (403). `action` completes "to ...": "cancel this job". One query.

    Objects are looked up in querysets scoped to the caller's organizations first, so another
    organization's object is a 404 before this runs; this only tells members apart by role."""
    if not roles:
        raise TypeError("require_role needs at least one role")
    membership = membership_for(user, organization)
    if membership is None or membership.role not in roles:
        raise RoleRequired(organization, roles, action=action, held=membership.role if membership else None)
    return membership


def organization_for_create(
    user, organization: Organization | None, *, roles=(Role.ADMIN,), action: str = "create this"
) -> Organization:
    """The organization a new object goes into: the one named, or the caller's only one.
    The caller must hold one of `roles` there (403 otherwise)."""
    if organization is None:
        candidates = [
            m.organization for m in Membership.objects.filter(user=user, role__in=roles).select_related("organization")
        ]
        if not candidates:
            raise PermissionDenied(
                f"you need the {roles_text(roles)} role in one of your organizations to {action} (you hold it in none)"
            )
        if len(candidates) > 1:
            raise serializers.ValidationError({"organization": ["required: you may create in several organizations"]})
        return candidates[0]
    require_role(user, organization, *roles, action=action)
    return organization


class UserOrganizationField(serializers.SlugRelatedField):
    """An organization given by slug, chosen among the caller's own (others do not exist)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)

    def get_queryset(self):
        return organizations_for(self.context["request"].user)

    def get_value(self, dictionary):
        # A form body's empty value is "not given" to DRF; for an organization it names none that exists.
        value = super().get_value(dictionary)
        return "" if value is serializers.empty and dictionary.get(self.field_name) == "" else value


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "created_at"]

    def get_role(self, org) -> str:
        return org.caller_role or ""  # annotated by OrganizationViewSet.get_queryset


class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """The organizations the caller belongs to, with their role in each."""

    serializer_class = OrganizationSerializer
    lookup_field = "slug"

    def get_queryset(self):
        # The caller's role read with the organizations, not a membership query per organization.
        role = Membership.objects.filter(user_id=self.request.user.pk, organization=OuterRef("pk")).values("role")[:1]
        return organizations_for(self.request.user).annotate(caller_role=Subquery(role)).order_by("name")


class EventFilter(ScopedFilterSet):
    kind = django_filters.CharFilter(
        method="filter_kind", help_text="exact kind, or a prefix ending in '.' (e.g. `mode.`)"
    )
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["kind", "spacecraft", "since", "until"]

    def filter_kind(self, queryset, name, value):
        if value.endswith("."):
            return queryset.filter(kind__startswith=value)
        return queryset.filter(kind=value)


@extend_schema_view(list=extend_schema(summary="The event log of your organizations, newest first (cursor pagination)"))
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Immutable operational events. Read-only for everyone: services write them."""

    serializer_class = EventSerializer
    pagination_class = NewestFirstCursorPagination
    filterset_class = EventFilter

    def get_queryset(self):
        return visible_events(self.request.user).select_related("organization")

    def list(self, request, *args, **kwargs):
        # An event list tolerates replica lag.
        return read_lag_tolerant(lambda: super(EventViewSet, self).list(request, *args, **kwargs), user=request.user)
