from django import forms

from missionops.forms import OrganizationChoiceForm

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
