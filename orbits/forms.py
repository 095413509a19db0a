"""Forms of the orbits pages."""

from datetime import UTC

from django import forms


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
        return cleaned
