"""Forms of the orbits pages."""

from datetime import UTC

from django import forms

from missionops.forms import OrganizationChoiceForm
from missionops.ids import decimal_id


class PredictForm(forms.Form):
    """Passes for a chosen window: a spacecraft, a station or an ad-hoc site, a range (UTC)."""

    spacecraft = forms.ModelChoiceField(queryset=None, empty_label=None)
    station = forms.ModelChoiceField(queryset=None, required=False, empty_label="ad-hoc site below")
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, label="Latitude °")
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, label="Longitude °")
    alt_m = forms.FloatField(required=False, min_value=-500, max_value=9000, initial=0, label="Altitude m")
    min_elevation_deg = forms.FloatField(required=False, min_value=0, max_value=89, initial=0, label="Min. elevation °")
    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="UTC")
    end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="UTC")
    allow_stale = forms.BooleanField(required=False, label="Predict past the element-set age limit")

    def __init__(self, *args, spacecraft_choices, station_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["spacecraft"].queryset = spacecraft_choices
        self.fields["station"].queryset = station_choices

    def clean(self):
        cleaned = super().clean()
        for name in ("start", "end"):  # the page speaks UTC
            if cleaned.get(name) is not None:
                cleaned[name] = cleaned[name].replace(tzinfo=UTC)
        station, lat, lon = cleaned.get("station"), cleaned.get("lat"), cleaned.get("lon")
        if station is None and (lat is None or lon is None):
            self.add_error("station", "choose a station, or give the latitude and longitude of a site")
        if station is not None and station.organization_id != getattr(
            cleaned.get("spacecraft"), "organization_id", None
        ):
            self.add_error("station", "this station is not in the spacecraft's organization")


MAX_IMPORT_BYTES = 5 * 1024 * 1024


class StationForm(OrganizationChoiceForm):
    name = forms.CharField(max_length=120)
    latitude_deg = forms.FloatField(label="Latitude (°)", help_text="−90 to 90")
    longitude_deg = forms.FloatField(label="Longitude (°)", help_text="−180 to 180")
    altitude_m = forms.FloatField(label="Altitude (m)", initial=0.0)
    min_elevation_deg = forms.FloatField(label="Minimum elevation (°)", initial=5.0, help_text="0 to 89")
    downlink_rate_bps = forms.IntegerField(label="Downlink rate (bit/s)", initial=10_000_000, min_value=1)


class ElementSetImportForm(OrganizationChoiceForm):
    """TLEs (2- or 3-line) or OMM JSON, pasted or uploaded; a file wins over the text box."""

    text = forms.CharField(
        label="Element sets",
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text="2- or 3-line TLEs, or OMM JSON (CelesTrak FORMAT=json)",
    )
    file = forms.FileField(required=False, label="or a file")

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_IMPORT_BYTES:
                self.add_error("file", f"at most {MAX_IMPORT_BYTES // (1024 * 1024)} MiB")
                return cleaned
            try:
                cleaned["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("file", "not UTF-8 text")
                return cleaned
        if not (cleaned.get("text") or "").strip():
            self.add_error("text", "paste element sets or choose a file")
        return cleaned


class ContactPlanForm(OrganizationChoiceForm):
    """A contact plan over [start, end] (UTC) for the spacecraft ticked, each with a priority and
    the volume to downlink; one row of fields per spacecraft of the organization."""

    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Start (UTC)")
    end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="End (UTC)")

    def __init__(self, *args, spacecraft, **kwargs):
        super().__init__(*args, **kwargs)
        self.spacecraft = list(spacecraft)
        for sc in self.spacecraft:
            self.fields[f"include_{sc.pk}"] = forms.BooleanField(required=False, label=f"{sc.designation} {sc.name}")
            self.fields[f"priority_{sc.pk}"] = forms.IntegerField(
                initial=0,
                min_value=-1000,
                max_value=1000,
                widget=forms.NumberInput(attrs={"aria-label": f"{sc.designation} priority"}),
            )
            self.fields[f"volume_mbit_{sc.pk}"] = forms.FloatField(
                initial=100.0,
                min_value=0.001,
                max_value=1e9,
                widget=forms.NumberInput(attrs={"aria-label": f"{sc.designation} volume in Mbit"}),
            )

    def rows(self):
        return [
            (sc, self[f"include_{sc.pk}"], self[f"priority_{sc.pk}"], self[f"volume_mbit_{sc.pk}"])
            for sc in self.spacecraft
        ]

    def clean(self):
        from datetime import UTC

        cleaned = super().clean()
        for name in ("start", "end"):  # the page speaks UTC
            if cleaned.get(name) is not None:
                cleaned[name] = cleaned[name].replace(tzinfo=UTC)
        cleaned["requests"] = [
            {
                "spacecraft": sc,
                "priority": cleaned.get(f"priority_{sc.pk}") or 0,
                "volume_bits": int((cleaned.get(f"volume_mbit_{sc.pk}") or 0) * 1_000_000),
            }
            for sc in self.spacecraft
            if cleaned.get(f"include_{sc.pk}")
        ]
        if not cleaned["requests"] and not self.errors:
            raise forms.ValidationError("tick at least one spacecraft")
        return cleaned


class PickedPassesForm(OrganizationChoiceForm):
    """The stored passes picked on the passes timeline (`passes`, one value per pass id), for a
    contact plan of exactly those passes; the service checks that they exist and fit together."""

    def clean(self):
        cleaned = super().clean()
        values = self.data.getlist("passes") if hasattr(self.data, "getlist") else []
        ids = []
        for value in values:
            pk = decimal_id(value)
            if pk is None or pk == 0:
                self.add_error(None, f"“{value[:40]}” is not a pass id")
                return cleaned
            ids.append(pk)
        if not ids:
            self.add_error(None, "pick at least one pass on the timeline")
        cleaned["passes"] = ids
        return cleaned
