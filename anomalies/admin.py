from django.contrib import admin, messages

from . import services
from .exceptions import AlarmPermissionError, AlarmStateError
from .models import AlarmPolicy, Anomaly, AnomalyComment, Arrival, DetectorCursor


class CommentInline(admin.TabularInline):
    model = AnomalyComment
    extra = 0
    readonly_fields = ["author", "text", "created_at"]
    can_delete = False


def _run(modeladmin, request, queryset, label, operation):
    done = skipped = 0
    for anomaly in queryset:
        try:
            operation(anomaly=anomaly, user=request.user)
            done += 1
        except (AlarmStateError, AlarmPermissionError):
            skipped += 1
    modeladmin.message_user(request, f"{label} {done}; skipped {skipped} (state or permission)", messages.INFO)


@admin.action(description="Acknowledge selected open alarms")
def acknowledge(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, "acknowledged", services.acknowledge)


@admin.action(description="Resolve selected alarms")
def resolve(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, "resolved", services.resolve)


@admin.register(Anomaly)
class AnomalyAdmin(admin.ModelAdmin):
    """Changes go through the workflow services (actions), so events and live messages follow."""

    list_display = [
        "id",
        "spacecraft",
        "parameter_name",
        "detector",
        "detector_kinds",
        "severity",
        "state",
        "threshold",
        "peak_value",
        "sample_count",
        "started_at",
        "cleared_at",
        "escalation_level",
        "is_late",
        "suppressed_by",
        "returns",
        "chattering",
    ]
    list_filter = ["state", "severity", "detector", "is_late", "chattering", "latched", "subsystem", "organization"]
    search_fields = ["parameter_name", "spacecraft__designation", "message", "tags"]
    date_hierarchy = "started_at"
    list_select_related = ["spacecraft"]
    actions = [acknowledge, resolve]
    inlines = [CommentInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.display(description="detectors")
    def detector_kinds(self, obj):
        return ", ".join(d["kind"] for d in obj.detectors)

    def has_add_permission(self, request):
        return False


@admin.register(AlarmPolicy)
class AlarmPolicyAdmin(admin.ModelAdmin):
    list_display = ["organization", "escalate_after_s", "max_escalation_level", "on_call_emails", "updated_at"]


@admin.register(DetectorCursor)
class DetectorCursorAdmin(admin.ModelAdmin):
    list_display = ["parameter", "detector", "evaluated_until", "active", "updated_at"]
    list_filter = ["detector", "active"]
    readonly_fields = ["parameter", "detector", "evaluated_until", "state", "active", "updated_at"]


@admin.register(Arrival)
class ArrivalAdmin(admin.ModelAdmin):
    """Samples ingested and not swept yet (the sweep consumes them every 15 s)."""

    list_display = ["parameter", "first_time", "last_time", "arrived_at", "limits_checked"]
    readonly_fields = ["parameter", "first_time", "last_time", "arrived_at", "limits_checked"]

    def has_add_permission(self, request):
        return False
