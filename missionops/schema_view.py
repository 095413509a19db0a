"""The OpenAPI schema, generated once per process: it is the same for every caller (SERVE_PUBLIC)
and changes only with the code, while generating it walks every view and serializer (seconds on a
busy machine, which Swagger UI and ReDoc waited for on every load)."""

from django.core.signals import setting_changed
from django.dispatch import receiver
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

_schemas: dict = {}


@receiver(setting_changed)
def _forget(**kwargs):  # a test that changes settings may change the schema
    _schemas.clear()


class CachedSchemaView(SpectacularAPIView):
    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, request.GET.get("lang"))
        if key not in _schemas:
            generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
            _schemas[key] = generator.get_schema(request=request, public=self.serve_public)
        return Response(
            data=_schemas[key],
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )
