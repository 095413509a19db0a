from django.contrib import admin, messages
from django.db import transaction

from .exceptions import TileInputInUse
from .models import Gpu, GpuSample, Job, JobArtifact, JobLog, JobTemplate, OrganizationQuota, TileInput, UsageDay
from .services import cron_of, sync_run_slots, tile_inputs


class JobLogInline(admin.TabularInline):
    model = JobLog
    extra = 0
    can_delete = False
    fields = ["at", "attempt", "level", "message"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request, obj=None):
        return False


class JobArtifactInline(admin.TabularInline):
    model = JobArtifact
    extra = 0
    can_delete = False
    fields = ["name", "content_type", "size_bytes", "sha256", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "organization",
        "kind",
        "name",
        "state",
        "priority",
        "progress",
        "attempts",
        "worker",
        "gpu_index",
        "created_at",
    ]
    list_filter = ["state", "kind", "organization", "needs_gpu"]
    search_fields = ["name", "error", "worker"]
    date_hierarchy = "created_at"
    inlines = [JobLogInline, JobArtifactInline]
    # Jobs are submitted and changed through the API, pages and commands: the services validate
    # params and footprints per kind (and keep the bbox columns in step with the footprint), check
    # quotas, and carry state changes through the DAG. Here only what needs none of that is edited.
    EDITABLE = ("name", "priority", "max_attempts")

    def get_readonly_fields(self, request, obj=None):
        fields = [*Job._meta.fields, *Job._meta.many_to_many]
        return [f.name for f in fields if f.name not in self.EDITABLE]

    def has_add_permission(self, request):
        return False


@admin.register(JobTemplate)
class JobTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kind", "priority", "schedule", "created_at"]
    list_filter = ["kind", "organization"]
    search_fields = ["name"]
    raw_id_fields = ["created_by"]

    @admin.display(description="cron (UTC)")
    def schedule(self, obj):
        # The schedule itself is the linked django-celery-beat PeriodicTask, editable there.
        return cron_of(obj) or "—"


@admin.register(TileInput)
class TileInputAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "organization", "height_px", "width_px", "dtype", "scale", "size_bytes", "created_at"]
    list_filter = ["organization", "dtype"]
    search_fields = ["name", "sha256"]
    date_hierarchy = "created_at"
    exclude = ["data"]
    # Uploads go through the API or the jobs page, where the file is validated; here one may look,
    # rename and delete. Deleting applies the API's in-use check: an input an open job or a
    # template names is listed as protected and kept.
    readonly_fields = [
        "organization", "created_by", "bands", "height_px", "width_px", "dtype", "scale", "size_bytes", "sha256",
        "created_at",
    ]  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data")

    def has_add_permission(self, request):
        return False

    def get_deleted_objects(self, objs, request):
        # Django's confirmation page refuses to delete while `protected` is not empty (single
        # delete and the bulk action alike); in-use inputs are shown there with the reason.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected) + [reason for obj in objs if (reason := tile_inputs.in_use_reason(obj))]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        self.delete_queryset(request, TileInput.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        # All or nothing: a job naming one of them may have been submitted since the confirmation.
        try:
            with transaction.atomic():
                for tile_input in queryset.defer("data"):
                    tile_inputs.delete_tile_input(tile_input=tile_input, actor=request.user)
        except TileInputInUse as refused:
            request._tile_inputs_kept = True
            self.message_user(request, f"Nothing deleted: {refused.message}", messages.ERROR)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        if level == messages.SUCCESS and getattr(request, "_tile_inputs_kept", False):
            return  # Django's "deleted successfully" after a refusal
        super().message_user(request, message, level, *args, **kwargs)


@admin.register(OrganizationQuota)
class OrganizationQuotaAdmin(admin.ModelAdmin):
    list_display = ["organization", "max_concurrent_jobs", "max_queued_jobs", "daily_gpu_seconds"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        sync_run_slots(organization_id=obj.organization_id)  # a raised max_concurrent_jobs needs its run slots


@admin.register(UsageDay)
class UsageDayAdmin(admin.ModelAdmin):
    list_display = ["day", "organization", "user", "shard", "jobs", "succeeded", "gpu_seconds"]
    list_filter = ["organization", "day"]


@admin.register(Gpu)
class GpuAdmin(admin.ModelAdmin):
    list_display = ["host", "index", "name", "simulated", "memory_total_mb", "active", "last_seen_at"]
    list_filter = ["simulated", "active", "host"]


@admin.register(GpuSample)
class GpuSampleAdmin(admin.ModelAdmin):
    list_display = ["gpu", "at", "utilization_pct", "memory_used_mb", "temperature_c", "job"]
    list_filter = ["gpu"]
    raw_id_fields = ["job"]
