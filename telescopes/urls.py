from django.urls import path

from . import views

# Dashboard pages of this app.
urlpatterns = [
    path("telescopes/", views.telescopes_page, name="telescopes"),
    path("telescopes/sessions/new/", views.session_new, name="telescopes-session-new"),
    path("telescopes/sessions/<int:pk>/", views.session_page, name="telescopes-session"),
    path("telescopes/health/", views.health_page, name="ground-health"),
]
