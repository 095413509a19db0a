from rest_framework.routers import SimpleRouter

from .api import EventViewSet, OrganizationViewSet
from .api_apikeys import ApiKeyViewSet
from .api_webhooks import WebhookViewSet

router = SimpleRouter()
router.register("events", EventViewSet, basename="event")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
