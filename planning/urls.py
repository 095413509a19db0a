from django.urls import path

from . import views

# Dashboard pages of this app.
urlpatterns = [
    path("planning/", views.request_list, name="planning"),
    path("planning/plan/", views.plan_gantt, name="planning-plan"),
]
