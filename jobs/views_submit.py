"""Submitting a job from the browser: the form the API's `POST /api/v1/jobs/` takes, with the
footprint drawn on the map and the organization's templates to start from."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from missionops.exceptions import DomainError
from missionops.models import OPERATING_ROLES, Membership, Organization

from . import services
from .forms import JobSubmitForm
from .models import JobTemplate


def _template_initial(template: JobTemplate) -> dict:
    initial = {
        "name": template.name,
        "kind": template.kind,
        "params": json.dumps(template.params, indent=1),
        "priority": template.priority,
        "max_attempts": template.max_attempts,
        "organization": template.organization,
    }
    ring = (template.footprint or {}).get("coordinates", [[]])[0]
    if template.footprint and template.footprint.get("type") == "Polygon" and ring:
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        initial["bbox"] = ",".join(f"{v:.3f}" for v in (min(lons), min(lats), max(lons), max(lats)))
    return initial


@login_required
def submit_job(request):
    organizations = Organization.objects.filter(
        pk__in=Membership.objects.filter(user=request.user, role__in=OPERATING_ROLES).values("organization_id")
    )
    templates = JobTemplate.objects.filter(organization__in=organizations).order_by("name")
    chosen = (
        templates.filter(pk=request.GET.get("template")).first() if request.GET.get("template", "").isdigit() else None
    )
    if request.method == "POST":
        if not organizations.exists():
            raise PermissionDenied("jobs are submitted by operators and admins")
        form = JobSubmitForm(request.POST, organizations=organizations)
        if form.is_valid():
            data = form.cleaned_data
            spec = {k: data[k] for k in ("name", "kind", "params", "priority", "max_attempts")}
            spec["footprint"] = data["bbox"]
            try:
                job = services.submit_job(organization=data["organization"], actor=request.user, **spec)
                messages.success(request, f"job {job.pk} submitted ({job.state})")
                return redirect("job-detail", pk=job.pk)
            except DomainError as error:
                field = (error.field or "").removeprefix("params.")
                target = error.field if error.field in form.fields else "bbox" if field == "footprint" else None
                if target is None and (error.field or "").startswith("params"):
                    target = "params"
                form.add_error(target, f"{error.field}: {error.message}" if target == "params" else error.message)
    else:
        form = JobSubmitForm(initial=_template_initial(chosen) if chosen else None, organizations=organizations)
    return render(
        request,
        "jobs/submit.html",
        {"area": "jobs", "form": form, "templates": templates, "chosen": chosen, "can_submit": organizations.exists()},
    )
