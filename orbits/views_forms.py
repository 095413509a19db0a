"""Ground stations and element-set import from the browser: the services and rules the API uses,
errors next to the field (a TLE's line and column), a preview of an import before it is made."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.shortcuts import redirect, render
from django.utils import timezone

from missionops.exceptions import DomainError
from missionops.tenancy import admin_organizations, operating_organizations
from spacecraft.models import Spacecraft

from . import selectors, services, tle_format
from .forms import ContactPlanForm, ElementSetImportForm, StationForm
from .models import TLE


@login_required
def stations(request):
    organizations = admin_organizations(request.user)
    form = StationForm(request.POST or None, organizations=organizations)
    if request.method == "POST":
        if not organizations.exists():
            raise PermissionDenied("ground stations are added by organization admins")
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k != "organization"}
            try:
                station = services.create_station(
                    organization=form.cleaned_data["organization"], actor=request.user, **values
                )
                messages.success(request, f"ground station {station.name} added; its passes are computed")
                return redirect("orbits-stations")
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
    return render(
        request,
        "orbits/stations.html",
        {
            "area": "orbits",
            "form": form,
            "stations": selectors.stations_visible_to(request.user).order_by("name"),
            "is_admin": organizations.exists(),
        },
    )


def preview_rows(*, organization, parsed) -> list[dict]:
    """What an import would do with each parsed element set (nothing written)."""
    by_norad = {sc.norad_id: sc for sc in Spacecraft.objects.filter(organization=organization, norad_id__isnull=False)}
    latest = dict(
        TLE.objects.filter(spacecraft__in=by_norad.values())
        .values("spacecraft_id")
        .annotate(epoch=Max("epoch"))
        .values_list("spacecraft_id", "epoch")
    )
    stored = set(
        TLE.objects.filter(
            spacecraft__in=by_norad.values(), epoch__in=[e.epoch for e in parsed.element_sets]
        ).values_list("spacecraft_id", "epoch")
    )
    rows = []
    for element_set in parsed.element_sets:
        spacecraft = by_norad.get(element_set.norad_id)
        current = latest.get(spacecraft.pk) if spacecraft else None
        if spacecraft is None:
            outcome = "skipped: no spacecraft with this NORAD id"
        elif (spacecraft.pk, element_set.epoch) in stored:
            outcome = "unchanged: this epoch is stored"
        elif current is not None and current > element_set.epoch:
            outcome = "stored, older than the current set"
        else:
            outcome = "new current set"
        rows.append({"set": element_set, "spacecraft": spacecraft, "outcome": outcome})
    return rows


@login_required
def tle_import(request):
    organizations = operating_organizations(request.user)
    form = ElementSetImportForm(request.POST or None, request.FILES or None, organizations=organizations)
    preview, report = None, None
    if request.method == "POST":
        if not organizations.exists():
            raise PermissionDenied("element sets are imported by operators and admins")
        if form.is_valid():
            organization, text = form.cleaned_data["organization"], form.cleaned_data["text"]
            if request.POST.get("action") == "import":
                report = services.import_tles(
                    organization=organization, text=text, source="dashboard", actor=request.user
                )
                counts = (len(report.imported), len(report.unchanged), len(report.refused))
                messages.success(request, "{} imported, {} unchanged, {} refused".format(*counts))
            else:
                parsed = tle_format.parse(text)
                preview = {"rows": preview_rows(organization=organization, parsed=parsed), "refused": parsed.refused}
    return render(
        request,
        "orbits/tle_import.html",
        {
            "area": "orbits",
            "form": form,
            "preview": preview,
            "report": report,
            "can_import": organizations.exists(),
            "tles": selectors.tles_visible_to(request.user).order_by("-created_at")[:20],
        },
    )


@login_required
def contact_plan_new(request):
    """Build a contact plan from the stored passes (operators and admins), then see it on the timeline."""
    organizations = operating_organizations(request.user)
    organization = organizations.first()
    chosen = request.POST.get("organization") or request.GET.get("organization")
    if chosen:
        organization = organizations.filter(slug=chosen).first() or organization
    fleet = Spacecraft.objects.filter(organization=organization).order_by("designation") if organization else []
    now = timezone.now().replace(second=0, microsecond=0)
    initial = {"start": now.strftime("%Y-%m-%dT%H:%M"), "end": (now + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M")}
    form = ContactPlanForm(request.POST or None, initial=initial, organizations=organizations, spacecraft=fleet)
    if request.method == "POST":
        if not organizations.exists():
            raise PermissionDenied("contact plans are built by operators and admins")
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = services.build_contact_plan(
                    organization=data["organization"],
                    start=data["start"],
                    end=data["end"],
                    requests=data["requests"],
                    actor=request.user,
                )
                unserved = f", {len(plan.unserved)} request(s) not fully served" if plan.unserved else ""
                messages.success(request, f"contact plan #{plan.pk}: {plan.contacts.count()} contacts{unserved}")
                return redirect("orbits-passes")
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
    return render(
        request,
        "orbits/contact_plan_form.html",
        {"area": "orbits", "form": form, "can_plan": organizations.exists()},
    )
