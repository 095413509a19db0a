from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="home"),
    path("overview/", views.overview, name="overview"),
    path("events/", views.events, name="events"),
]
