"""This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("observatories", api.ObservatoryViewSet, basename="observatory")
router.register("alpaca-devices", api.DeviceViewSet, basename="alpaca-device")
router.register("telescopes", api.TelescopeViewSet, basename="telescope")
router.register("cameras", api.CameraViewSet, basename="camera")
router.register("focusers", api.FocuserViewSet, basename="focuser")
router.register("domes", api.DomeViewSet, basename="dome")
router.register("telescope-operations", api.OperationViewSet, basename="telescope-operation")
router.register("exposures", api.ExposureViewSet, basename="exposure")
router.register("observation-sessions", api.SessionViewSet, basename="observation-session")

urlpatterns = router.urls
