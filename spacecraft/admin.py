from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from . import services
from .models import ConfigVersion, Constellation, Spacecraft


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
    readonly_fields = ["mode", "battery_soc_pct", "memory_used_pct", "updated_at", "created_at"]
    inlines = [ConfigVersionInline]

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
