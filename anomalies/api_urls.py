# This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py.
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, api_analysis

router = SimpleRouter()
router.register("anomalies", api.AnomalyViewSet, basename="anomaly")

urlpatterns = [
    path("telemetry/analyze/", api_analysis.AnalyzeView.as_view(), name="telemetry-analyze"),
    path("telemetry/forecast/", api_analysis.ForecastView.as_view(), name="telemetry-forecast"),
    *router.urls,
]
