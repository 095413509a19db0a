from django.urls import path

from . import views

# Dashboard pages of this app.
urlpatterns = [
    path("orbits/", views.orbit_map, name="orbits"),
    path("orbits/passes/", views.pass_timeline, name="orbits-passes"),
    path("orbits/conjunctions/", views.conjunctions, name="orbits-conjunctions"),
]
