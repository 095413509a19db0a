from django.urls import path

from missionops.views import area_not_built

# Dashboard pages of this app; the capability has not landed yet.
urlpatterns = [
    path("alarms/", area_not_built, {"area": "alarms"}, name="alarms"),
]
