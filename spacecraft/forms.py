import json

from django import forms

from .models import DocumentCategory, Mode, ReleaseMode


class CommandForm(forms.Form):
    name = forms.CharField(max_length=64)
    args = forms.JSONField(required=False, initial=dict, help_text='JSON object, e.g. {"exposure_ms": 20}')
    priority = forms.IntegerField(min_value=1, max_value=9, initial=5)
    release_mode = forms.ChoiceField(choices=ReleaseMode.choices, initial=ReleaseMode.IMMEDIATE)


class DocumentForm(forms.Form):
    title = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=DocumentCategory.choices)
    spacecraft = forms.ModelChoiceField(queryset=None, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 18}), required=False, help_text="Markdown")
    attachment = forms.FileField(required=False, help_text="optional: a file attached with this version")

    def __init__(self, *args, spacecraft_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["spacecraft"].queryset = spacecraft_choices


class SearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    category = forms.ChoiceField(choices=[("", "any category"), *DocumentCategory.choices], required=False)
    spacecraft = forms.ModelChoiceField(queryset=None, required=False, empty_label="any spacecraft")

    def __init__(self, *args, spacecraft_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["spacecraft"].queryset = spacecraft_choices


class ModeForm(forms.Form):
    mode = forms.ChoiceField(choices=Mode.choices)
    reason = forms.CharField(
        max_length=200, required=False, widget=forms.TextInput(attrs={"placeholder": "why (recorded in the event log)"})
    )


class ConfigForm(forms.Form):
    """The whole parameter set as JSON; validated by the same rules as the API (spacecraft.config)."""

    parameters = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}),
        help_text="JSON: name → subsystem, units, type, warn/crit limits…",
    )
    note = forms.CharField(max_length=300, required=False)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_parameters(self):
        try:
            return json.loads(self.cleaned_data["parameters"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"not JSON: line {error.lineno} column {error.colno}: {error.msg}") from error
