"""Contact plans."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from missionops.api import UserOrganizationField, organization_for_create
from missionops.exceptions import DomainError
from missionops.models import OPERATING_ROLES
from spacecraft.selectors import spacecraft_visible_to

from .. import selectors, services
from ..models import Contact, ContactPlan
from ..scheduling import MAX_BITS


class ContactSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "spacecraft",
            "designation",
            "station",
            "station_name",
            "pass_ref",
            "start",
            "end",
            "volume_bits",
            "priority",
        ]


class UnservedSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    designation = serializers.CharField()
    priority = serializers.IntegerField()
    needed_bits = serializers.IntegerField()
    scheduled_bits = serializers.IntegerField()
    reason = serializers.CharField()


class ContactPlanItemSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    priority = serializers.IntegerField(default=0, min_value=-1000, max_value=1000)
    volume_bits = serializers.IntegerField(min_value=1, max_value=MAX_BITS)


class ContactPlanSerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False)
    requests = ContactPlanItemSerializer(many=True, write_only=True)
    contacts = ContactSerializer(many=True, read_only=True)
    unserved = UnservedSerializer(many=True, read_only=True)
    requested = serializers.JSONField(source="requests", read_only=True)

    class Meta:
        model = ContactPlan
        fields = ["id", "organization", "start", "end", "requests", "requested", "contacts", "unserved", "created_at"]

    def validate_requests(self, value):
        if not value:
            raise serializers.ValidationError("give at least one request")
        return value


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
