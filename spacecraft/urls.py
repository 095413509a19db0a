from django.urls import path

from missionops.views import area_not_built

from . import views

app_name = "spacecraft"
urlpatterns = [
    path("fleet/", views.fleet, name="fleet"),
    path("spacecraft/<uuid:pk>/", views.spacecraft_detail, name="detail"),
    path("documents/", area_not_built, {"area": "documents"}, name="documents"),
]
