# This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py.
from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import JobViewSet
from .api_gpus import GpuViewSet
from .api_templates import JobTemplateViewSet
from .api_tile_inputs import TileInputViewSet
from .api_usage import UsageView

router = SimpleRouter()
router.register("jobs", JobViewSet, basename="job")
router.register("gpus", GpuViewSet, basename="gpu")
router.register("job-templates", JobTemplateViewSet, basename="job-template")
router.register("tile-inputs", TileInputViewSet, basename="tile-input")

urlpatterns = [*router.urls, path("usage/", UsageView.as_view(), name="usage")]
