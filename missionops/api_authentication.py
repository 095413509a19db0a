"""DRF authentication and scope checks for API keys (`Authorization: Api-Key mo_...` or `Bearer mo_...`)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from .models import ApiKey, ApiScope
from .services import KEY_PREFIX, authenticate_key


def key_from_header(value: str) -> str | None:
    scheme, _, key = value.partition(" ")
    if scheme.lower() in ("api-key", "bearer") and key.strip().startswith(KEY_PREFIX):
        return key.strip()
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key_text = key_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        if key_text is None:
            return None
        key = authenticate_key(key_text)
        if key is None:
            raise exceptions.AuthenticationFailed("API key unknown, expired or revoked")
        return key.service_user, key

    def authenticate_header(self, request):
        return "Api-Key"


class ApiKeyScope(permissions.BasePermission):
    """Narrows what a key may do: reads need `read`; telemetry ingest needs `ingest`; other writes
    need `operate`; views marked `required_scope = "admin"` need `admin`. Users are unaffected."""

    message = "this API key lacks the scope for this operation"

    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        needed = self.scope_for(request, view)
        self.message = f"this API key lacks the '{needed}' scope"
        return needed in key.scopes or ApiScope.ADMIN in key.scopes

    @staticmethod
    def scope_for(request, view) -> str:
        declared = getattr(view, "required_scope", None)
        if callable(declared):
            declared = declared(request)
        if declared:
            return declared
        if request.method in permissions.SAFE_METHODS:
            return ApiScope.READ
        return ApiScope.OPERATE


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents API keys in the OpenAPI schema (Swagger UI's Authorize button)."""

    target_class = "missionops.api_authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key mo_...` (an organization API key with scopes read / ingest / operate / admin)",
        }
