from rest_framework.routers import SimpleRouter

from .api import EventViewSet, OrganizationViewSet

router = SimpleRouter()
router.register("events", EventViewSet, basename="event")
router.register("organizations", OrganizationViewSet, basename="organization")

urlpatterns = router.urls
