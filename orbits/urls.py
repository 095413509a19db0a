from django.urls import path

from . import views, views_forms

# Dashboard pages of this app.
urlpatterns = [
    path("orbits/", views.orbit_map, name="orbits"),
    path("orbits/passes/", views.pass_timeline, name="orbits-passes"),
    path("orbits/conjunctions/", views.conjunctions, name="orbits-conjunctions"),
    path("orbits/stations/", views_forms.stations, name="orbits-stations"),
    path("orbits/element-sets/", views_forms.tle_import, name="orbits-tle-import"),
    path("orbits/passes/plan/", views.contact_plan_from_passes, name="orbits-contact-plan-from-passes"),
    path("orbits/contact-plans/new/", views_forms.contact_plan_new, name="orbits-contact-plan-new"),
]
