# This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py.
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("tles", api.TLEViewSet, basename="tle")
router.register("ground-stations", api.GroundStationViewSet, basename="ground-station")
router.register("passes", api.PassViewSet, basename="pass")
router.register("contact-plans", api.ContactPlanViewSet, basename="contact-plan")
router.register("conjunctions", api.ConjunctionViewSet, basename="conjunction")

urlpatterns = [
    path("spacecraft/<uuid:pk>/position/", api.PositionView.as_view(), name="spacecraft-position"),
    path("spacecraft/<uuid:pk>/ground-track/", api.GroundTrackView.as_view(), name="spacecraft-ground-track"),
    path("spacecraft/<uuid:pk>/next-pass/", api.NextPassView.as_view(), name="spacecraft-next-pass"),
    path("orbits/positions/", api.FleetPositionsView.as_view(), name="fleet-positions"),
    *router.urls,
]
