"""Fields the orbits API modules share."""

import math

from rest_framework import serializers


class FiniteFloatField(serializers.FloatField):
    """A float that is never NaN or Infinity in a response (JSON has neither): null instead."""

    def to_representation(self, value):
        value = super().to_representation(value)
        return value if math.isfinite(value) else None
