from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import ConstellationViewSet, SpacecraftViewSet
from .api_commands import CatalogueView, CommandViewSet
from .api_documents import DocumentViewSet

router = SimpleRouter()
router.register("spacecraft", SpacecraftViewSet, basename="spacecraft")
router.register("constellations", ConstellationViewSet, basename="constellation")
router.register("commands", CommandViewSet, basename="command")
router.register("documents", DocumentViewSet, basename="document")

urlpatterns = [
    path("command-catalogue/", CatalogueView.as_view(), name="command-catalogue"),
    *router.urls,
]
