from django.contrib import admin

from .models import Downlink, ImagingRequest, ImagingSlot, Plan, SpacecraftResources


@admin.register(ImagingRequest)
class ImagingRequestAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "priority", "earliest_start", "deadline", "state", "tile_job"]
    list_filter = ["organization", "state"]
    search_fields = ["name"]
    # State moves through the services (events, plans, commands); the admin shows it.
    readonly_fields = ["state", "failure_reason", "tile_job", "target_latitude_deg", "target_longitude_deg"]


class SlotInline(admin.TabularInline):
    model = ImagingSlot
    extra = 0
    fields = ["request", "spacecraft", "start", "end", "elevation_deg", "state", "command"]
    readonly_fields = fields
    can_delete = False


class DownlinkInline(admin.TabularInline):
    model = Downlink
    extra = 0
    fields = ["spacecraft", "station", "start", "end", "capacity_bits", "load_bits", "state"]
    readonly_fields = fields
    can_delete = False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "organization",
        "start",
        "end",
        "solver",
        "status",
        "value",
        "greedy_value",
        "bound",
        "wall_s",
    ]
    list_filter = ["organization", "solver"]
    readonly_fields = [f.name for f in Plan._meta.fields]
    inlines = [SlotInline, DownlinkInline]


@admin.register(SpacecraftResources)
class SpacecraftResourcesAdmin(admin.ModelAdmin):
    list_display = ["spacecraft", "memory_capacity_bits", "image_energy_pct", "slew_settle_s", "imaging_s"]
