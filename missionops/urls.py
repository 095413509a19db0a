from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from . import views
from .api_urls import urlpatterns as platform_api
from .metrics import metrics_view
from .schema_view import AreaRedocView, CachedSchemaView

api_v1 = [
    *platform_api,
    path("", include("spacecraft.api_urls")),
    path("", include("telemetry.api_urls")),
    path("", include("anomalies.api_urls")),
    path("", include("orbits.api_urls")),
    path("", include("jobs.api_urls")),
    path("", include("telescopes.api_urls")),
    path("", include("planning.api_urls")),
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("metrics", metrics_view, name="metrics"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhook-test"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/", views.webhook_redeliver, name="webhook-redeliver"
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", CachedSchemaView.as_view(), name="schema"),
    # The split view serves Swagger UI's set-up script as a file: no inline script under the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", AreaRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("console.urls")),
    path("", include("spacecraft.urls")),
    path("", include("telemetry.urls")),
    path("", include("anomalies.urls")),
    path("", include("orbits.urls")),
    path("", include("jobs.urls")),
    path("", include("telescopes.urls")),
    path("", include("planning.urls")),
]

handler400 = "missionops.views.bad_request"
handler404 = "missionops.views.not_found"
handler500 = "missionops.views.server_error"
