"""Forms of the telescopes pages."""

from datetime import UTC, datetime, timedelta

from django import forms
from django.utils import timezone

from missionops.exceptions import DomainError
from missionops.templatetags.display import duration_text, utc_text

from .exceptions import TelescopeError
from .models import DeviceType
from .services import tracking

PASS_SEARCH_H = 24
# A pass is named by its culmination (TCA): its AOS moves when the pass is already in progress.
PASS_MATCH_S = 60


def _pass_value(window) -> str:
    return window.tca.astimezone(UTC).replace(microsecond=0).isoformat()


def _pass_label(window) -> str:
    started = " (in progress)" if window.cut_at_start else ""
    return (
        f"AOS {utc_text(window.aos)}{started} · LOS {utc_text(window.los)} · "
        f"max {window.max_elevation_deg:.0f}° · {duration_text(window.duration_s)}"
    )


class ObservationSessionForm(forms.Form):
    """A session from one of the spacecraft's passes over the observatory in the next 24 h; the
    devices and exposure settings are checked by the same service as the API (`start_session`)."""

    observatory = forms.ModelChoiceField(queryset=None, empty_label=None)
    spacecraft = forms.ModelChoiceField(queryset=None, empty_label=None)
    pass_tca = forms.CharField(
        label="Pass", required=False, widget=forms.RadioSelect, help_text=f"next {PASS_SEARCH_H} h, UTC"
    )
    telescope = forms.ModelChoiceField(queryset=None, required=False, empty_label="the observatory's first telescope")
    camera = forms.ModelChoiceField(queryset=None, required=False, empty_label="no camera (track only)")
    step_s = forms.FloatField(label="Pointing step (s)", initial=2.0, help_text="0.5 to 60")
    exposure_every_s = forms.FloatField(label="Exposure every (s)", initial=0.0, help_text="0: no exposures")
    exposure_s = forms.FloatField(label="Exposure (s)", initial=0.5, help_text="up to 600")
    allow_stale = forms.BooleanField(
        label="Use an element set past its age limit", required=False, help_text="predictions from it may be far off"
    )

    def __init__(self, *args, observatories, spacecraft, devices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["observatory"].queryset = observatories
        self.fields["spacecraft"].queryset = spacecraft
        observatory = self._chosen("observatory")
        if observatory is not None:  # offer only this observatory's devices once it is chosen
            devices = devices.filter(observatory=observatory)
        self.fields["telescope"].queryset = devices.filter(device_type=DeviceType.TELESCOPE)
        self.fields["camera"].queryset = devices.filter(device_type=DeviceType.CAMERA)
        self.passes, self.pass_error = [], None
        chosen_spacecraft = self._chosen("spacecraft")
        if observatory is not None and chosen_spacecraft is not None:
            if chosen_spacecraft.organization_id != observatory.organization_id:
                self.pass_error = "this spacecraft is not in the observatory's organization"
            else:
                start = timezone.now()
                try:
                    self.passes = tracking.find_passes(
                        observatory=observatory,
                        spacecraft=chosen_spacecraft,
                        start=start,
                        end=start + timedelta(hours=PASS_SEARCH_H),
                        allow_stale=self._allow_stale(),
                    ).passes
                except DomainError as error:  # no element set, or one past its age limit
                    self.pass_error = error.message
        self.fields["pass_tca"].widget.choices = [(_pass_value(w), _pass_label(w)) for w in self.passes]

    def _allow_stale(self) -> bool:
        """The checkbox as the field itself reads it (widget and prefix), needed before cleaning:
        the passes offered depend on it."""
        field = self.fields["allow_stale"]
        if not self.is_bound:
            return bool(self.initial.get("allow_stale", field.initial))
        return field.to_python(field.widget.value_from_datadict(self.data, self.files, self.add_prefix("allow_stale")))

    def _chosen(self, name):
        """The observatory or spacecraft picked (posted or initial), among those offered, or None."""
        field = self.fields[name]
        raw = self.data.get(name) if self.is_bound else self.initial.get(name)
        if raw in (None, ""):
            return field.queryset.first() if not self.is_bound else None
        try:
            return field.queryset.filter(pk=getattr(raw, "pk", raw)).first()
        except (ValueError, TypeError, forms.ValidationError):
            return None

    def clean_pass_tca(self):
        """The pass picked, re-found among the passes predicted now (never a time from the client)."""
        raw = self.cleaned_data.get("pass_tca")
        if not raw:
            return None
        try:
            tca = datetime.fromisoformat(raw)
        except ValueError:
            raise forms.ValidationError("choose one of the passes listed") from None
        if tca.tzinfo is None:
            tca = tca.replace(tzinfo=UTC)
        near = [w for w in self.passes if abs((w.tca - tca).total_seconds()) <= PASS_MATCH_S]
        if not near:
            raise forms.ValidationError("this pass is not predicted any more: choose one of the passes listed")
        return near[0]

    def clean(self):
        cleaned = super().clean()
        if self.pass_error:
            self.add_error("spacecraft", self.pass_error)
        elif "pass_tca" not in self.errors and cleaned.get("pass_tca") is None:
            if cleaned.get("observatory") and cleaned.get("spacecraft") and not self.passes:
                self.add_error("pass_tca", f"no pass above the horizon limit in the next {PASS_SEARCH_H} h")
            else:
                self.add_error("pass_tca", "choose a pass")
        return cleaned

    def session_request(self) -> dict:
        """Keyword arguments of `tracking.start_session` (actor aside) from the cleaned data."""
        data = self.cleaned_data
        window, observatory = data["pass_tca"], data["observatory"]
        telescope = data["telescope"] or self.fields["telescope"].queryset.first()
        if telescope is None:
            raise TelescopeError(f"{observatory.name} has no telescope", field="telescope")
        return {
            "observatory": observatory,
            "spacecraft": data["spacecraft"],
            "telescope": telescope,
            "camera": data["camera"],
            "start": max(window.aos, timezone.now()),
            "end": window.los,
            "step_s": data["step_s"],
            "exposure_every_s": data["exposure_every_s"],
            "exposure_s": data["exposure_s"],
            "allow_stale": data["allow_stale"],
        }
