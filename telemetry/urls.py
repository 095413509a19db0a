from django.urls import path

from . import views

# Dashboard pages of this app.
urlpatterns = [
    path("telemetry/", views.telemetry_index, name="telemetry"),
    path("telemetry/<uuid:pk>/", views.telemetry_spacecraft, name="telemetry-spacecraft"),
]
