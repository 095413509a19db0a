from django.urls import path

from missionops.views import area_not_built

# Dashboard pages of this app; the capability has not landed yet.
urlpatterns = [
    path("jobs/", area_not_built, {"area": "jobs"}, name="jobs"),
]
