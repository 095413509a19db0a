"""Contact plans."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import UserOrganizationField, organization_for_create
from missionops.exceptions import DomainError
from missionops.models import OPERATING_ROLES
from spacecraft.selectors import spacecraft_visible_to

from .. import selectors, services
from ..representations import ContactPlanSerializer


class PickedPassesSerializer(serializers.Serializer):
    organization = UserOrganizationField(
        required=False, help_text="slug; needed only when you operate in several organizations"
    )
    passes = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=services.MAX_PICKED_PASSES,
        help_text="ids of stored passes (GET /api/v1/passes/); each becomes one contact from AOS to LOS. "
        "No two may overlap on one station or for one spacecraft.",
    )


@extend_schema_view(
    list=extend_schema(summary="Contact plans of your organizations, newest first"),
    retrieve=extend_schema(summary="One contact plan with its contacts and unserved requests"),
    create=extend_schema(summary="Build a contact plan for a window from the predicted passes (operator)"),
)
class ContactPlanViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = ContactPlanSerializer

    def get_queryset(self):
        return selectors.contact_plans_visible_to(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        organization = organization_for_create(
            self.request.user, data.get("organization"), roles=OPERATING_ROLES, action="build contact plans"
        )
        visible = {sc.pk: sc for sc in spacecraft_visible_to(self.request.user).filter(organization=organization)}
        requests = []
        for item in data["requests"]:
            if item["spacecraft"] not in visible:
                raise DomainError(f"no spacecraft {item['spacecraft']} in {organization.slug}", field="requests")
            requests.append({**item, "spacecraft": visible[item["spacecraft"]]})
        serializer.instance = services.build_contact_plan(
            organization=organization, start=data["start"], end=data["end"], requests=requests, actor=self.request.user
        )

    @extend_schema(
        request=PickedPassesSerializer,
        responses={201: ContactPlanSerializer},
        summary="Make a contact plan of the stored passes picked, all or nothing (operator)",
        description="A pass that is not the organization's or no longer stored, one picked twice or already "
        "over, or two overlapping on one station or for one spacecraft: 400 with `field` = `passes` and a "
        "message naming the pass; nothing is written.",
    )
    @action(detail=False, methods=["post"], url_path="from-passes")
    def from_passes(self, request):
        serializer = PickedPassesSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = organization_for_create(
            request.user, data.get("organization"), roles=OPERATING_ROLES, action="build contact plans"
        )
        plan = services.create_contact_plan_from_passes(
            organization=organization, pass_ids=data["passes"], actor=request.user
        )
        plan = self.get_queryset().get(pk=plan.pk)
        return Response(
            ContactPlanSerializer(plan, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )
