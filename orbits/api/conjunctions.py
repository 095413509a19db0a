"""Conjunctions: predicted close approaches with catalogue objects."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from missionops.filters import IntegerFilter, ScopedFilterSet, UTCDateTimeFilter

from .. import selectors
from ..models import Conjunction
from ..representations import ConjunctionSerializer


class ConjunctionFilter(ScopedFilterSet):
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    secondary_norad_id = IntegerFilter()
    critical = django_filters.BooleanFilter()
    start = UTCDateTimeFilter(field_name="tca", lookup_expr="gte", help_text="TCA at or after")
    end = UTCDateTimeFilter(field_name="tca", lookup_expr="lte", help_text="TCA at or before")
    max_miss_km = django_filters.NumberFilter(field_name="miss_distance_km", lookup_expr="lte")

    class Meta:
        model = Conjunction
        fields = ["spacecraft", "secondary_norad_id", "critical", "start", "end", "max_miss_km"]


@extend_schema_view(
    list=extend_schema(summary="Predicted close approaches of your spacecraft with catalogue objects, by TCA"),
    retrieve=extend_schema(summary="One close approach"),
)
class ConjunctionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ConjunctionSerializer
    filterset_class = ConjunctionFilter

    def get_queryset(self):
        return selectors.conjunctions_visible_to(self.request.user).order_by("tca", "id")
