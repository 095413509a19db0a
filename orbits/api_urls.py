# This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py.
from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import conjunctions, contacts, geometry, passes, stations, tles

router = SimpleRouter()
router.register("tles", tles.TLEViewSet, basename="tle")
router.register("ground-stations", stations.GroundStationViewSet, basename="ground-station")
router.register("passes", passes.PassViewSet, basename="pass")
router.register("contact-plans", contacts.ContactPlanViewSet, basename="contact-plan")
router.register("conjunctions", conjunctions.ConjunctionViewSet, basename="conjunction")

urlpatterns = [
    path("spacecraft/<uuid:pk>/position/", geometry.PositionView.as_view(), name="spacecraft-position"),
    path("spacecraft/<uuid:pk>/ground-track/", geometry.GroundTrackView.as_view(), name="spacecraft-ground-track"),
    path("spacecraft/<uuid:pk>/next-pass/", geometry.NextPassView.as_view(), name="spacecraft-next-pass"),
    path("orbits/positions/", geometry.FleetPositionsView.as_view(), name="fleet-positions"),
    path("orbits/ground-tracks/", geometry.FleetGroundTracksView.as_view(), name="fleet-ground-tracks"),
    *router.urls,
]
