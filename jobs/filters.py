"""The jobs list's filters, shared by the page and the API."""

import django_filters
from django.db.models import Q

from missionops.filters import ScopedFilterSet, UTCDateTimeFilter
from missionops.ids import decimal_id

from .geo import bbox_intersects, parse_bbox
from .models import Job, JobKind, JobState


class JobFilter(ScopedFilterSet):
    state = django_filters.MultipleChoiceFilter(choices=JobState.choices)
    kind = django_filters.ChoiceFilter(choices=JobKind.choices)
    organization = django_filters.CharFilter(field_name="organization__slug")
    created_after = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_text", help_text="text in name, error or worker; or a job id")
    bbox = django_filters.CharFilter(
        method="filter_bbox",
        help_text="minlon,minlat,maxlon,maxlat: footprints intersecting it (minlon > maxlon crosses 180°)",
    )

    class Meta:
        model = Job
        fields = ["state", "kind", "organization", "template", "created_after", "created_before", "q", "bbox"]

    def filter_text(self, queryset, name, value):
        match = Q(name__icontains=value) | Q(error__icontains=value) | Q(worker__icontains=value)
        job_id = decimal_id(value.strip())
        if job_id is not None:
            match |= Q(pk=job_id)
        return queryset.filter(match)

    def filter_bbox(self, queryset, name, value):
        return queryset.filter(bbox_intersects(*parse_bbox(value)))
