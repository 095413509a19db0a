# This app's REST endpoints, mounted under /api/v1/ by missionops/urls.py.
urlpatterns = []
