from django.contrib import admin

from . import services
from .models import TLE, CatalogueObject, CatalogueSync, Conjunction, Contact, ContactPlan, GroundStation, Pass


@admin.register(GroundStation)
class GroundStationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "latitude_deg",
        "longitude_deg",
        "altitude_m",
        "min_elevation_deg",
        "downlink_rate_bps",
    ]
    list_filter = ["organization"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in services.STATION_FIELDS if f in form.cleaned_data}
        if change:
            services.update_station(station=obj, actor=request.user, **values)
        else:
            created = services.create_station(
                organization=form.cleaned_data["organization"], actor=request.user, **values
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.delete_station(station=obj, actor=request.user)


@admin.register(TLE)
class TLEAdmin(admin.ModelAdmin):
    list_display = ["norad_id", "spacecraft", "epoch", "format", "source", "created_at"]
    list_filter = ["format"]
    search_fields = ["norad_id", "object_name", "spacecraft__designation"]
    readonly_fields = [f.name for f in TLE._meta.fields]


@admin.register(Pass)
class PassAdmin(admin.ModelAdmin):
    list_display = ["spacecraft", "station", "aos", "los", "max_elevation_deg", "continuous"]
    list_filter = ["station", "continuous"]
    readonly_fields = [f.name for f in Pass._meta.fields]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    readonly_fields = ["spacecraft", "station", "pass_ref", "start", "end", "volume_bits", "priority"]


@admin.register(ContactPlan)
class ContactPlanAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "start", "end", "created_at"]
    inlines = [ContactInline]
    readonly_fields = ["organization", "start", "end", "requests", "unserved", "created_by"]


@admin.register(CatalogueObject)
class CatalogueObjectAdmin(admin.ModelAdmin):
    list_display = ["norad_id", "object_name", "object_type", "epoch", "source", "updated_at"]
    search_fields = ["norad_id", "object_name"]
    readonly_fields = [f.name for f in CatalogueObject._meta.fields]


@admin.register(CatalogueSync)
class CatalogueSyncAdmin(admin.ModelAdmin):
    list_display = ["source", "query", "last_attempt_at", "last_success_at", "objects_stored", "last_status"]
    readonly_fields = ["last_attempt_at", "last_success_at", "etag", "last_modified", "last_status", "objects_stored"]


@admin.register(Conjunction)
class ConjunctionAdmin(admin.ModelAdmin):
    list_display = ["tca", "spacecraft", "secondary_norad_id", "secondary_name", "miss_distance_km", "critical"]
    list_filter = ["critical", "organization"]
    search_fields = ["secondary_norad_id", "secondary_name", "spacecraft__designation"]
    readonly_fields = [f.name for f in Conjunction._meta.fields]
