from django.urls import path

from . import views

# Dashboard pages of this app.
urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/kpis/", views.alarm_kpis, name="alarm-kpis"),
    path("alarms/<int:pk>/", views.anomaly_detail, name="anomaly-detail"),
]
