"""The shared query fields: a time needs a UTC offset and comes back in UTC; an id is ASCII digits."""

import datetime as dt

import pytest
from rest_framework import serializers

from missionops.api import DecimalIdField, UTCDateTimeField


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-01-01T06:00:00Z", dt.datetime(2026, 1, 1, 6, tzinfo=dt.UTC)),
        ("2026-01-01T06:00:00 05:00", dt.datetime(2026, 1, 1, 1, tzinfo=dt.UTC)),  # "+" sent unencoded
        ("2026-01-01T06:00:00-01:30", dt.datetime(2026, 1, 1, 7, 30, tzinfo=dt.UTC)),
    ],
)
def test_a_query_time_comes_back_in_utc(text, expected):
    value = UTCDateTimeField().run_validation(text)
    assert value == expected and value.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "text,code",
    [("2026-01-01T06:00:00", "naive"), ("9999-12-31T23:00:00-05:00", "overflow"), ("soon", "invalid")],
)
def test_a_query_time_without_offset_or_out_of_range_is_refused(text, code):
    with pytest.raises(serializers.ValidationError) as refused:
        UTCDateTimeField().run_validation(text)
    assert refused.value.detail[0].code == code


@pytest.mark.parametrize("text", ["١", "²", "1.0", "-1", "9" * 19])
def test_an_id_is_ascii_digits_that_fit_a_bigint(text):
    with pytest.raises(serializers.ValidationError):
        DecimalIdField().run_validation(text)
    assert DecimalIdField().run_validation("42") == 42
