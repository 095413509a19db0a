"""Query filters for the API: foreign keys are filtered by id alone.

django-filter's default for a foreign key, ModelChoiceFilter, first checks the id exists among
all rows of the related model, every organization's: a 400 for an unknown id and a 200 for another
organization's told the two apart. By id alone, both are simply no rows (the view's queryset is
already scoped to the caller's organizations), and a malformed id is still a 400 naming the field."""

import django_filters
from django import forms
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.rest_framework import FilterSet as RestFilterSet


class RelatedIdFilter(django_filters.Filter):
    def __init__(self, *args, uuid: bool = False, **kwargs):
        self.field_class = forms.UUIDField if uuid else forms.IntegerField
        super().__init__(*args, **kwargs)


def _related_id(field) -> dict:
    return {"uuid": isinstance(field.remote_field.model._meta.pk, models.UUIDField)}


class ScopedFilterSet(RestFilterSet):
    FILTER_DEFAULTS = {
        **RestFilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": RelatedIdFilter, "extra": _related_id},
        models.OneToOneField: {"filter_class": RelatedIdFilter, "extra": _related_id},
    }


class ScopedFilterBackend(DjangoFilterBackend):
    """For views that list `filterset_fields` (their FilterSet is built on ScopedFilterSet)."""

    filterset_base = ScopedFilterSet
