from django.urls import path

from telemetry.consumers import IngestConsumer

from .consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/ingest/", IngestConsumer.as_asgi()),
]
