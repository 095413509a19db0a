"""WebSocket routes: the platform's live socket, then each app's routes named in
settings.WEBSOCKET_ROUTES (by name, as ROOT_URLCONF includes apps' urls: the platform imports no app)."""

from django.conf import settings
from django.urls import path
from django.utils.module_loading import import_string

from .consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
    *(route for dotted in settings.WEBSOCKET_ROUTES for route in import_string(dotted)),
]
