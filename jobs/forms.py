import json

from django import forms

from missionops.forms import OrganizationChoiceForm

from .models import JobKind


class JobSubmitForm(OrganizationChoiceForm):
    """One job from the browser: the API's spec fields, the footprint as a bbox drawn on the map,
    optionally started from a template (its fields fill the form, then anything may be changed)."""

    name = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=JobKind.choices, initial=JobKind.TILE)
    params = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        required=False,
        initial="{}",
        help_text='JSON object, e.g. {"product": "ndvi"}',
    )
    priority = forms.IntegerField(min_value=-100, max_value=100, initial=0)
    max_attempts = forms.IntegerField(min_value=1, max_value=20, initial=3)
    bbox = forms.CharField(
        required=False,
        label="Footprint bbox",
        help_text="west,south,east,north in degrees: draw it on the map (shift-drag)",
        widget=forms.TextInput(attrs={"placeholder": "minlon,minlat,maxlon,maxlat", "id": "submit-bbox"}),
    )

    def clean_params(self):
        text = (self.cleaned_data["params"] or "").strip() or "{}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"not JSON: line {error.lineno} column {error.colno}: {error.msg}") from error
        if not isinstance(value, dict):
            raise forms.ValidationError("params must be a JSON object")
        return value

    def clean_bbox(self):
        text = (self.cleaned_data["bbox"] or "").strip()
        if not text:
            return None
        try:
            west, south, east, north = (float(v) for v in text.split(","))
        except ValueError:
            raise forms.ValidationError("four numbers: west,south,east,north") from None
        return {
            "type": "Polygon",
            "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
        }
