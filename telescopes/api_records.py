"""REST API of what device work leaves behind: operations, exposures (FITS and previews) and
observation sessions (satellite tracking)."""

from django.db.models import Prefetch
from django.http import FileResponse, Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import require_role
from missionops.filters import ScopedFilterSet
from missionops.models import OPERATING_ROLES
from spacecraft.selectors import spacecraft_visible_to

from . import selectors
from .models import Exposure, Operation
from .representations import ExposureSerializer, OperationSerializer, SessionSerializer
from .services import tracking


class OperationFilter(ScopedFilterSet):
    class Meta:
        model = Operation
        fields = ["device", "kind", "status"]


class OperationViewSet(viewsets.ReadOnlyModelViewSet):
    """Device operations, newest first: status, error, result."""

    serializer_class = OperationSerializer
    filterset_class = OperationFilter

    def get_queryset(self):
        return selectors.operations_visible_to(self.request.user)


class ExposureViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ExposureSerializer
    filterset_fields = ["camera", "session", "light"]

    def get_queryset(self):
        return selectors.exposures_visible_to(self.request.user)

    def _file(self, field, content_type):
        exposure = self.get_object()
        stored = getattr(exposure, field)
        try:
            handle = stored.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404("the image file is missing") from None
        return FileResponse(handle, content_type=content_type, filename=stored.name.rsplit("/", 1)[-1])

    @extend_schema(responses={(200, "application/fits"): bytes}, summary="The FITS file")
    @action(detail=True, methods=["get"])
    def fits(self, request, pk=None):
        return self._file("fits", "application/fits")

    @extend_schema(responses={(200, "image/png"): bytes}, summary="The PNG preview")
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        return self._file("preview", "image/png")


class SessionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Observation sessions: a telescope following a spacecraft through a pass (operate to create)."""

    serializer_class = SessionSerializer
    filterset_fields = ["observatory", "spacecraft", "status"]

    def get_queryset(self):
        # `exposures` lists ids: one query for the page's sessions, not one per session.
        exposure_ids = Prefetch("exposures", queryset=Exposure.objects.only("pk", "session_id"))
        return selectors.sessions_visible_to(self.request.user).prefetch_related(exposure_ids)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        observatory = data.pop("observatory")
        require_role(
            self.request.user,
            observatory.organization,
            *OPERATING_ROLES,
            action="start observation sessions at this observatory",
        )
        spacecraft = spacecraft_visible_to(self.request.user).filter(pk=data.pop("spacecraft_id")).first()
        if spacecraft is None:
            raise serializers.ValidationError({"spacecraft": ["unknown spacecraft"]})
        serializer.instance = tracking.start_session(
            observatory=observatory, spacecraft=spacecraft, actor=self.request.user, **data
        )

    @extend_schema(request=None, responses=SessionSerializer, summary="Abort a scheduled or running session")
    @action(detail=True, methods=["post"])
    def abort(self, request, pk=None):
        session = self.get_object()
        require_role(request.user, session.observatory.organization, *OPERATING_ROLES, action="abort this session")
        session = tracking.abort_session(session=session, actor=request.user)
        return Response(SessionSerializer(session, context=self.get_serializer_context()).data)
