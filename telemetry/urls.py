from django.urls import path

from missionops.views import area_not_built

# Dashboard pages of this app; the capability has not landed yet.
urlpatterns = [
    path("telemetry/", area_not_built, {"area": "telemetry"}, name="telemetry"),
]
