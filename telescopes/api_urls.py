"""This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py."""

from rest_framework.routers import SimpleRouter

from . import api, api_devices, api_records

router = SimpleRouter()
router.register("observatories", api.ObservatoryViewSet, basename="observatory")
router.register("alpaca-devices", api_devices.DeviceViewSet, basename="alpaca-device")
router.register("telescopes", api_devices.TelescopeViewSet, basename="telescope")
router.register("cameras", api_devices.CameraViewSet, basename="camera")
router.register("focusers", api_devices.FocuserViewSet, basename="focuser")
router.register("domes", api_devices.DomeViewSet, basename="dome")
router.register("telescope-operations", api_records.OperationViewSet, basename="telescope-operation")
router.register("exposures", api_records.ExposureViewSet, basename="exposure")
router.register("observation-sessions", api_records.SessionViewSet, basename="observation-session")

urlpatterns = router.urls
