from django.contrib import admin

from . import services
from .models import AlpacaDevice, Exposure, ObservationSession, Observatory, Operation


@admin.register(Observatory)
class ObservatoryAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "latitude_deg", "longitude_deg", "horizon_limit_deg", "discovery_hosts"]
    list_filter = ["organization"]

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in services.OBSERVATORY_FIELDS if f in form.cleaned_data}
        if change:
            services.update_observatory(observatory=obj, actor=request.user, **values)
        else:
            obj.pk = services.create_observatory(
                organization=form.cleaned_data["organization"], actor=request.user, **values
            ).pk


@admin.register(AlpacaDevice)
class AlpacaDeviceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "observatory", "device_type", "health_status", "last_checked_at"]
    list_filter = ["device_type", "health_status", "observatory"]
    readonly_fields = ["health_status", "health_detail", "status", "last_checked_at", "last_seen_at"]


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = ["id", "device", "kind", "status", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in Operation._meta.fields]


@admin.register(Exposure)
class ExposureAdmin(admin.ModelAdmin):
    list_display = ["id", "camera", "started_at", "duration_s", "light", "width", "height"]


@admin.register(ObservationSession)
class ObservationSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "spacecraft", "observatory", "start", "end", "status", "max_pointing_error_deg"]
    list_filter = ["status"]
    readonly_fields = ["track", "pointing"]
