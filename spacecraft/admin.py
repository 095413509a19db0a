from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from . import services
from .models import (
    Command,
    ConfigVersion,
    Constellation,
    Document,
    DocumentAttachment,
    DocumentVersion,
    Spacecraft,
)


class ConfigVersionInline(admin.TabularInline):
    model = ConfigVersion
    extra = 0
    fields = ["version", "note", "created_by", "created_at"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Spacecraft)
class SpacecraftAdmin(GuardedModelAdmin):
    """Guardian's object-permission pages ("Object permissions" button) grant
    view_spacecraft / operate_spacecraft to single users or groups."""

    list_display = [
        "designation",
        "name",
        "organization",
        "mission_type",
        "mode",
        "battery_soc_pct",
        "memory_used_pct",
        "updated_at",
    ]
    list_filter = ["organization", "mission_type", "mode", "constellation"]
    search_fields = ["designation", "name", "norad_id"]
    readonly_fields = ["mode", "battery_soc_pct", "memory_used_pct", "runtime", "updated_at", "created_at"]
    inlines = [ConfigVersionInline]

    def get_readonly_fields(self, request, obj=None):
        """On change only what update_spacecraft saves is editable: a field shown editable and
        then silently kept (the organization, live state) would lie to the admin."""
        fixed = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fixed
        others = [
            f.name
            for f in self.model._meta.concrete_fields
            if f.editable and f.name not in services.REGISTRY_FIELDS and f.name not in fixed and not f.primary_key
        ]
        return fixed + others

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in services.REGISTRY_FIELDS}
            services.update_spacecraft(spacecraft=obj, actor=request.user, **fields)
            return
        fields = {name: form.cleaned_data[name] for name in services.REGISTRY_FIELDS if name in form.cleaned_data}
        created = services.create_spacecraft(
            organization=form.cleaned_data["organization"], actor=request.user, **fields
        )
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_spacecraft(spacecraft=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for spacecraft in queryset:
            services.delete_spacecraft(spacecraft=spacecraft, actor=request.user)


@admin.register(ConfigVersion)
class ConfigVersionAdmin(admin.ModelAdmin):
    """Versions are immutable: new ones are made through the API (PUT /config/)."""

    list_display = ["spacecraft", "version", "note", "created_by", "created_at"]
    list_filter = ["spacecraft__organization"]
    search_fields = ["spacecraft__designation", "note"]
    readonly_fields = ["spacecraft", "version", "parameters", "diff", "note", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Constellation)
class ConstellationAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name"]


@admin.register(Command)
class CommandAdmin(admin.ModelAdmin):
    """The queue is operated through the API and pages (two-person rule); here it is read-only."""

    list_display = [
        "id",
        "spacecraft",
        "name",
        "state",
        "critical",
        "priority",
        "created_by",
        "approved_by",
        "created_at",
    ]
    list_filter = ["state", "critical", "release_mode", "spacecraft__organization"]
    search_fields = ["name", "spacecraft__designation", "failure_reason"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Command._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DocumentVersionInline(admin.TabularInline):
    model = DocumentVersion
    extra = 0
    fields = ["version", "title", "published", "created_by", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class DocumentAttachmentInline(admin.TabularInline):
    model = DocumentAttachment
    extra = 0
    fields = ["name", "size_bytes", "content_type", "uploaded_by", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "organization",
        "category",
        "spacecraft",
        "state",
        "version",
        "published_version",
        "updated_at",
    ]
    list_filter = ["organization", "category", "state"]
    search_fields = ["title", "body"]
    readonly_fields = ["state", "version", "published_version", "created_by", "created_at", "updated_at"]
    inlines = [DocumentVersionInline, DocumentAttachmentInline]

    def save_model(self, request, obj, form, change):
        # Edits go through the service: a new version, a fresh search vector, an event.
        if change:
            fields = {
                n: form.cleaned_data[n] for n in form.changed_data if n in ("title", "body", "category", "spacecraft")
            }
            if fields:
                services.edit_document(document=obj, actor=request.user, **fields)
            return
        created = services.create_document(
            organization=form.cleaned_data["organization"],
            title=obj.title,
            category=obj.category,
            body=obj.body,
            spacecraft=obj.spacecraft,
            actor=request.user,
        )
        obj.pk = created.pk
        obj._state.adding = False
