from django import forms


class ImagingRequestForm(forms.Form):
    """Shapes only; the service holds every rule (and names the field it refuses)."""

    organization = forms.ModelChoiceField(queryset=None)
    name = forms.CharField(max_length=120)
    target = forms.JSONField(
        widget=forms.HiddenInput, help_text="drawn on the map: click a point, or several and Close polygon"
    )
    priority = forms.IntegerField(min_value=1, max_value=100, initial=1)
    earliest_start = forms.DateTimeField(help_text="UTC, e.g. 2026-12-07 06:00")
    deadline = forms.DateTimeField(help_text="UTC; the image must be downlinked by then")
    min_elevation_deg = forms.FloatField(initial=60.0, min_value=0, max_value=90, label="Min. elevation °")
    min_sun_elevation_deg = forms.FloatField(
        initial=10.0, required=False, min_value=-90, max_value=90, label="Min. Sun elevation °"
    )
    volume_gbit = forms.FloatField(initial=4.0, min_value=0.000001, max_value=4.6e9, label="Volume Gbit")
    template = forms.ModelChoiceField(queryset=None, label="Tile job template")

    def __init__(self, *args, organizations, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["template"].queryset = templates
        if organizations.count() == 1:
            self.fields["organization"].initial = organizations.first()
