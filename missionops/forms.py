from datetime import UTC

from django import forms

from .models import ApiScope


class EventFilterForm(forms.Form):
    kind = forms.CharField(required=False, help_text="exact kind, or a prefix ending in '.'")
    spacecraft = forms.ModelChoiceField(queryset=None, required=False, empty_label="any spacecraft")
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, spacecraft_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["spacecraft"].queryset = spacecraft_choices

    def clean(self):
        cleaned = super().clean()
        for name in ("since", "until"):  # the page speaks UTC
            if cleaned.get(name) is not None:
                cleaned[name] = cleaned[name].replace(tzinfo=UTC)
        return cleaned


class OrganizationChoiceForm(forms.Form):
    """The organization a new key or webhook belongs to, among those the user administers (the only
    one by default): a user administering several no longer gets them all in the first."""

    organization = forms.ModelChoiceField(queryset=None, required=False, empty_label=None)

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["organization"].initial = organizations.first()

    def clean_organization(self):
        chosen = self.cleaned_data.get("organization")
        if chosen is None:
            choices = list(self.fields["organization"].queryset[:2])
            if len(choices) != 1:
                raise forms.ValidationError("choose the organization")
            chosen = choices[0]
        return chosen


class WebhookForm(OrganizationChoiceForm):
    name = forms.CharField(max_length=120)
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_kinds = forms.CharField(help_text="comma-separated: mode.changed, command., * ...", initial="*")


class ApiKeyForm(OrganizationChoiceForm):
    name = forms.CharField(max_length=120)
    scopes = forms.MultipleChoiceField(choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, initial=["read"])
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="UTC; empty: never"
    )

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        return value.replace(tzinfo=UTC) if value else None
