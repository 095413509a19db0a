from django.contrib import admin

from .models import InjectedFault, LatestValue, ParameterDefinition, RetentionPolicy


class LatestInline(admin.StackedInline):
    model = LatestValue
    readonly_fields = ["time", "value"]
    can_delete = False
    extra = 0


@admin.register(ParameterDefinition)
class ParameterDefinitionAdmin(admin.ModelAdmin):
    list_display = [
        "spacecraft",
        "name",
        "subsystem",
        "type",
        "units",
        "declared",
        "warn_low",
        "warn_high",
        "config_version",
    ]
    list_filter = ["declared", "subsystem", "type", "spacecraft__organization"]
    search_fields = ["name", "spacecraft__designation"]
    list_select_related = ["spacecraft"]
    readonly_fields = ["enum_codes", "config_version", "created_at"]  # codes: what stored samples mean
    inlines = [LatestInline]

    def get_readonly_fields(self, request, obj=None):
        # Declared definitions follow the spacecraft's configuration: change that, not this.
        if obj is not None and obj.declared:
            return [f.name for f in self.model._meta.fields]
        return self.readonly_fields


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ["organization", "raw_days", "updated_at"]


@admin.register(InjectedFault)
class InjectedFaultAdmin(admin.ModelAdmin):
    list_display = ["spacecraft", "parameter", "kind", "started_at", "ended_at", "magnitude"]
    list_filter = ["kind", "spacecraft"]
    date_hierarchy = "started_at"
