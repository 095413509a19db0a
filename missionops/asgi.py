import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")
django_asgi_app = get_asgi_application()

from importlib import import_module  # noqa: E402

from django.conf import settings  # noqa: E402

# Import the URLconf (and so every view and API module) now, not in the first request a process
# serves: ~0.4 s of imports otherwise land on one client after each start of each WEB_PROCESSES.
import_module(settings.ROOT_URLCONF)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402
from .socket_auth import BrowserOriginValidator, SocketAuthStack  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(SocketAuthStack(URLRouter(websocket_urlpatterns))),
    }
)
