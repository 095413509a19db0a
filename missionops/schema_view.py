"""The OpenAPI schema, generated once per process: it is the same for every caller (SERVE_PUBLIC)
and changes only with the code, while generating it walks every view and serializer (seconds on a
busy machine, which Swagger UI and ReDoc waited for on every load)."""

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import Http404
from drf_spectacular.plumbing import set_query_parameters
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .openapi import AREA_TAGS

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
        schema, tag = _schemas[key], request.GET.get("tag")
        if tag is not None:
            if tag not in AREA_TAGS:
                raise ValidationError({"tag": [f"one of {', '.join(AREA_TAGS)}"]})
            if (*key, tag) not in _schemas:
                _schemas[(*key, tag)] = _one_area(schema, tag)
            schema = _schemas[(*key, tag)]
        return Response(
            data=schema,
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )


def _one_area(schema: dict, tag: str) -> dict:
    """The schema with only the operations of one area (the components stay whole)."""
    paths = {}
    for path, operations in schema.get("paths", {}).items():
        kept = {
            method: operation
            for method, operation in operations.items()
            if not isinstance(operation, dict) or "tags" not in operation or tag in operation["tags"]
        }
        if any(isinstance(operation, dict) and "tags" in operation for operation in kept.values()):
            paths[path] = kept
    components = schema.get("components", {})
    used = _referenced(paths, components)
    kept_components = {
        kind: {name: value for name, value in entries.items() if kind != "schemas" or name in used}
        for kind, entries in components.items()
    }
    tags = [t for t in schema.get("tags", []) if t["name"] == tag]
    return {**schema, "paths": paths, "components": kept_components, "tags": tags}


def _referenced(paths: dict, components: dict) -> set:
    """Names of the component schemas `paths` reach, directly or through other schemas."""
    schemas, found, pending = components.get("schemas", {}), set(), [paths]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    pending.append(schemas.get(name))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


class AreaRedocView(SpectacularRedocView):
    """ReDoc one area at a time (`?area=`, the first by default; `all` for everything): ReDoc renders
    every operation it is given on the browser's main thread, seconds for the whole API."""

    template_name = "drf_spectacular/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        area = request.GET.get("area") or AREA_TAGS[0]
        if area != "all" and area not in AREA_TAGS:
            raise Http404(f"no API area {area!r}: one of {', '.join(AREA_TAGS)} or all")
        response = super().get(request, *args, **kwargs)
        if area != "all":
            response.data["schema_url"] = set_query_parameters(url=response.data["schema_url"], tag=area)
        response.data["areas"], response.data["area"] = AREA_TAGS, area
        return response
