"""Job templates: saved (validated as a job would be, optionally on a cron schedule), deleted, and
submitted as a job."""

from django.db import transaction

from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none

from ..exceptions import JobParamsError, JobStateError
from ..models import Job, JobTemplate
from .schedules import set_template_schedule
from .specs import clean_spec
from .submission import submit_jobs


@transaction.atomic
def save_template(*, organization: Organization, actor, template=None, cron: str | None = None, **fields):
    """Create or change a job template, its spec validated as a job's would be.

    `cron` (5 fields, UTC) schedules it through django-celery-beat; an empty string unschedules it."""
    current = {}
    if template is not None:
        current = {k: getattr(template, k) for k in ("name", "kind", "params", "priority", "max_attempts", "footprint")}
    merged = {**current, **fields}
    name = (merged.get("name") or "").strip()
    if not name:
        raise JobParamsError("a template needs a name", field="name")
    clash = JobTemplate.objects.filter(organization=organization, name=name)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise JobStateError(f"template {name!r} already exists", field="name")
    spec = clean_spec({**merged, "parents": []}, organization=organization)
    values = {k: spec[k] for k in ("kind", "params", "priority", "max_attempts", "footprint")}
    if template is None:
        user = user_or_none(actor)
        template = JobTemplate.objects.create(organization=organization, created_by=user, name=name, **values)
        kind = "job_template.created"
    else:
        for key, value in {**values, "name": name}.items():
            setattr(template, key, value)
        template.save()
        kind = "job_template.changed"
    if cron is not None:
        set_template_schedule(template=template, cron=cron)
    record_event(organization=organization, kind=kind, subject=template, actor=actor, payload={"cron": cron or ""})
    return template


@transaction.atomic
def delete_template(*, template, actor) -> None:
    """Delete a template and its cron schedule."""
    set_template_schedule(template=template, cron=None)
    record_event(organization=template.organization, kind="job_template.deleted", subject=template, actor=actor)
    template.delete()


def submit_from_template(*, template, actor, overrides: dict | None = None) -> Job:
    """Submit one job from a template (name, priority and params may be overridden)."""
    spec = {
        "kind": template.kind,
        "params": {**template.params, **((overrides or {}).get("params") or {})},
        "priority": (overrides or {}).get("priority", template.priority),
        "max_attempts": template.max_attempts,
        "footprint": template.footprint,
        "name": (overrides or {}).get("name") or template.name,
        "template": template,
    }
    return submit_jobs(organization=template.organization, actor=actor, specs=[spec])[0]
