from django.urls import path

from . import views

# Dashboard pages of this app.
urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/<int:pk>/", views.anomaly_detail, name="anomaly-detail"),
]
