from rest_framework.routers import SimpleRouter

from .api import EventViewSet, OrganizationViewSet
from .api_webhooks import WebhookViewSet

router = SimpleRouter()
router.register("events", EventViewSet, basename="event")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
