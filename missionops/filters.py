"""Query filters for the API: foreign keys are filtered by id alone, times as PostgreSQL takes them.

django-filter's default for a foreign key, ModelChoiceFilter, first checks the id exists among
all rows of the related model, every organization's: a 400 for an unknown id and a 200 for another
organization's told the two apart. By id alone, both are simply no rows (the view's queryset is
already scoped to the caller's organizations), and a malformed id is still a 400 naming the field."""

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.rest_framework import FilterSet as RestFilterSet


class RelatedIdFilter(django_filters.Filter):
    def __init__(self, *args, uuid: bool = False, **kwargs):
        self.field_class = forms.UUIDField if uuid else forms.IntegerField
        super().__init__(*args, **kwargs)


def _related_id(field) -> dict:
    return {"uuid": isinstance(field.remote_field.model._meta.pk, models.UUIDField)}


# PostgreSQL refuses a time whose UTC offset is 16 hours or more: the whole query would fail.
MAX_UTC_OFFSET = dt.timedelta(hours=16)


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 time as PostgreSQL takes it: offset within ±15:59, in years 1-9999 once in UTC."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        offset = moment.utcoffset()
        if offset is not None and abs(offset) >= MAX_UTC_OFFSET:
            raise ValidationError("the UTC offset must lie within ±15:59", code="offset")
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError(
                "out of range: in UTC, the time must lie in the years 1 to 9999", code="range"
            ) from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class IntegerFilter(django_filters.NumberFilter):
    """A whole number, as the schema says for an integer column (NumberFilter also takes 0.5)."""

    field_class = forms.IntegerField


BOOLEAN_WORDS = {"true", "false"}


class ScopedFilterSet(RestFilterSet):
    """Filters that refuse what they would otherwise ignore: an empty value for anything but free
    text, and a boolean that is not `true` or `false` (django-filter reads both as "no filter")."""

    FILTER_DEFAULTS = {
        **RestFilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": RelatedIdFilter, "extra": _related_id},
        models.OneToOneField: {"filter_class": RelatedIdFilter, "extra": _related_id},
        models.DateTimeField: {"filter_class": UTCDateTimeFilter},
        models.IntegerField: {"filter_class": IntegerFilter},
        models.BigIntegerField: {"filter_class": IntegerFilter},
        models.PositiveIntegerField: {"filter_class": IntegerFilter},
        models.PositiveSmallIntegerField: {"filter_class": IntegerFilter},
        models.SmallIntegerField: {"filter_class": IntegerFilter},
    }

    def is_valid(self):
        valid = super().is_valid()
        for name, declared in self.filters.items():
            for value in self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)]:
                if value is None:
                    continue
                if isinstance(declared, django_filters.BooleanFilter) and value not in BOOLEAN_WORDS:
                    self.form.add_error(name, "true or false")
                    valid = False
                elif value == "" and not _free_text(declared):
                    self.form.add_error(name, "give a value, or leave the parameter out")
                    valid = False
        return valid


def _free_text(declared) -> bool:
    return type(declared) is django_filters.CharFilter and "choices" not in declared.extra


class ScopedFilterBackend(DjangoFilterBackend):
    """For views that list `filterset_fields` (their FilterSet is built on ScopedFilterSet)."""

    filterset_base = ScopedFilterSet
