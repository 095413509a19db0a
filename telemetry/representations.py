"""How latest values are shown: `GET /api/v1/telemetry/latest/` answers LatestValues, and the live
`telemetry` message on `sc.<id>` carries the same object restricted to the parameters that changed
(`{"kind": "telemetry", "data": <LatestValues>}`, plus `committed_at`), each row made here by
LatestSerializer for both, so a page reads the same field names from the socket as from REST."""

import datetime as dt
import json

from rest_framework import serializers

from missionops.representations import represent


# Comments, not docstrings: a serializer's docstring is its description in the OpenAPI schema.
class LatestSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    subsystem = serializers.CharField()
    units = serializers.CharField()
    type = serializers.CharField()
    declared = serializers.BooleanField()
    enum_values = serializers.ListField(child=serializers.CharField())
    limits = serializers.DictField(child=serializers.FloatField(allow_null=True))
    value = serializers.JSONField(allow_null=True, help_text="number, true/false or enum string")
    time = serializers.DateTimeField(allow_null=True)
    age_s = serializers.FloatField(allow_null=True)
    stale_after_s = serializers.FloatField()
    stale = serializers.BooleanField()
    status = serializers.CharField(help_text="nominal, warning, critical or unknown")

    def to_representation(self, row):
        # The fields above as DRF writes them (TIME_ZONE is UTC, never activated per request), less
        # its walk field by field, which cost five times the rest: a live push makes a row per
        # changed parameter of every ingest. test_wire_shape checks it against DRF's own walk.
        time, age_s = row["time"], row["age_s"]
        return {
            "parameter": str(row["parameter"]),
            "subsystem": str(row["subsystem"]),
            "units": str(row["units"]),
            "type": str(row["type"]),
            "declared": bool(row["declared"]),
            "enum_values": [str(code) for code in row["enum_values"]],
            "limits": {str(k): None if v is None else float(v) for k, v in row["limits"].items()},
            "value": row["value"],
            "time": None if time is None else _iso(time),
            "age_s": None if age_s is None else float(age_s),
            "stale_after_s": float(row["stale_after_s"]),
            "stale": bool(row["stale"]),
            "status": str(row["status"]),
        }


_latest = LatestSerializer()  # holds no state: one for every thread


def _iso(moment: dt.datetime) -> str:
    text = moment.astimezone(dt.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def latest_row(row: dict) -> dict:
    """One parameter's row of LatestValues (a `selectors.latest_row`) as the JSON values sent."""
    return represent(LatestSerializer, row)


def latest_row_json(row: dict) -> str:
    """`latest_row` encoded, for the live push (one per changed parameter of every ingest): the
    serializer writes plain JSON values already, so without `represent`'s round trip."""
    return json.dumps(_latest.to_representation(row))


def latest_values(*, spacecraft, rate: dict, rows: list[dict], committed_at: float | None = None) -> dict:
    """LatestValues of `rows` (already `latest_row`s); a live message adds `committed_at`, the Unix
    time of the newest commit in it, so a client can tell its delay."""
    data = {"spacecraft": str(spacecraft.pk), "designation": spacecraft.designation, "rate": rate, "values": rows}
    if committed_at is not None:
        data["committed_at"] = committed_at
    return data
