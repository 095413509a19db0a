# This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py.
from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import GpuViewSet, JobTemplateViewSet, JobViewSet, UsageView

router = SimpleRouter()
router.register("jobs", JobViewSet, basename="job")
router.register("gpus", GpuViewSet, basename="gpu")
router.register("job-templates", JobTemplateViewSet, basename="job-template")

urlpatterns = [*router.urls, path("usage/", UsageView.as_view(), name="usage")]
