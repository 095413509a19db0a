from rest_framework.routers import SimpleRouter

from .api import ConstellationViewSet, SpacecraftViewSet

router = SimpleRouter()
router.register("spacecraft", SpacecraftViewSet, basename="spacecraft")
router.register("constellations", ConstellationViewSet, basename="constellation")

urlpatterns = router.urls
