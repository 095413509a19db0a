"""Socket authentication: the session cookie (browsers) or an API token (scripts, devices)."""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator


@database_sync_to_async
def _user_and_key_for_token(key: str):
    """(user, api_key) for an API key (`mo_...`) or a personal DRF token; (None, None) if neither."""
    from rest_framework.authtoken.models import Token

    from .services import KEY_PREFIX, authenticate_key

    if key.startswith(KEY_PREFIX):
        api_key = authenticate_key(key)
        return (api_key.service_user, api_key) if api_key else (None, None)
    token = Token.objects.select_related("user").filter(key=key).first()
    return (token.user, None) if token else (None, None)


def socket_scope_allows(scope, needed: str) -> bool:
    """Sockets opened with an API key need the scope (`read` for /ws/live/, `ingest` for /ws/ingest/)."""
    api_key = scope.get("api_key")
    return api_key is None or needed in api_key.scopes or "admin" in api_key.scopes


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() in ("token", "bearer", "api-key") and key:
                return key.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("token") or [None])[0]


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            key = _token_from_scope(scope)
            if key:
                token_user, api_key = await _user_and_key_for_token(key)
                if token_user is not None and token_user.is_active:
                    scope = dict(scope, user=token_user, api_key=api_key)
        return await super().__call__(scope, receive, send)


def SocketAuthStack(inner):  # noqa: N802 - mirrors channels' AuthMiddlewareStack
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin on sockets: check it against ALLOWED_HOSTS (cross-site socket
    hijacking with a session cookie). Scripts and devices send none and must bring a token."""

    def __init__(self, application):
        from django.conf import settings

        hosts = ["*" if h == "*" else h for h in settings.ALLOWED_HOSTS]
        super().__init__(application, hosts)

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)
