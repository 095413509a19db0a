# This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py.
from django.urls import path

from . import api

urlpatterns = [
    path("telemetry/", api.IngestView.as_view(), name="telemetry-ingest"),
    path("telemetry/series/", api.SeriesView.as_view(), name="telemetry-series"),
    path("telemetry/latest/", api.LatestView.as_view(), name="telemetry-latest"),
    path("telemetry/parameters/", api.ParametersView.as_view(), name="telemetry-parameters"),
    path("telemetry/export/", api.ExportView.as_view(), name="telemetry-export"),
]
