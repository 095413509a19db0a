# This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py.
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("planning/requests", api.ImagingRequestViewSet, basename="imaging-request")
router.register("planning/plans", api.PlanViewSet, basename="plan")

urlpatterns = router.urls
