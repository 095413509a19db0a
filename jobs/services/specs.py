"""One job description validated (kind, params, footprint, priority, attempts, parents), as a
submission, a batch or a template needs it."""

from django.db import transaction

from missionops.models import Organization

from ..exceptions import JobParamsError
from ..geo import validate_footprint
from ..models import Job, JobKind, TileInput
from ..workloads import workload_for
from .dag import lock_parents


def clean_spec(
    spec: dict,
    *,
    organization: Organization,
    prefix: str = "",
    checked_inputs: set | None = None,
    known_parents: dict[int, Job] | None = None,
) -> dict:
    """One job description, validated: kind, params per kind, footprint, priority, attempts, parents.
    `checked_inputs`: tile inputs already checked (and locked) in this transaction, not queried again.
    `known_parents`: the organization's jobs a batch names as parents, read once (see submit_jobs)."""
    kind = spec.get("kind")
    try:
        workload = workload_for(kind)
    except JobParamsError as error:
        raise JobParamsError(error.message, field=f"{prefix}kind") from None
    try:
        params = workload.validate(spec.get("params") or {})
    except JobParamsError as error:
        raise JobParamsError(error.message, field=f"{prefix}{error.field}") from None
    if params.get("input") is not None and params["input"] not in (checked_inputs or ()):
        _check_tile_input(params["input"], organization=organization, field=f"{prefix}params.input")
        if checked_inputs is not None:
            checked_inputs.add(params["input"])
    footprint = spec.get("footprint")
    if footprint is not None:
        footprint = validate_footprint(footprint, field=f"{prefix}footprint")
    elif workload.needs_footprint:
        raise JobParamsError(f"a {kind} job needs a footprint (GeoJSON Polygon)", field=f"{prefix}footprint")
    priority = spec.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or not -100 <= priority <= 100:
        raise JobParamsError("priority must be an integer from -100 to 100", field=f"{prefix}priority")
    max_attempts = spec.get("max_attempts", 3)
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or not 1 <= max_attempts <= 20:
        raise JobParamsError("max_attempts must be an integer from 1 to 20", field=f"{prefix}max_attempts")
    parent_ids = spec.get("parents") or []
    if not isinstance(parent_ids, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in parent_ids):
        raise JobParamsError("parents must be a list of job ids", field=f"{prefix}parents")
    if known_parents is None:
        known_parents = lock_parents(Job.objects.filter(organization=organization, pk__in=parent_ids))
    parents = [known_parents[p] for p in dict.fromkeys(parent_ids) if p in known_parents]
    missing = sorted(set(parent_ids) - {p.pk for p in parents})
    if missing:
        raise JobParamsError(f"no job {missing[0]} in this organization", field=f"{prefix}parents")
    return {
        "kind": JobKind(kind),
        "params": params,
        "needs_gpu": workload.needs_gpu(params),
        "footprint": footprint,
        "priority": priority,
        "max_attempts": max_attempts,
        "name": str(spec.get("name") or "")[:200],
        "parents": parents,
        "template": spec.get("template"),
    }


def parents_named(*, specs: list[dict], organization: Organization) -> dict[int, Job]:
    """The organization's jobs that any spec of a batch names as a parent, in one query (clean_spec
    still checks each spec's list and reports the first id it does not find)."""
    ids = {
        p
        for spec in specs
        if isinstance(spec, dict) and isinstance(spec.get("parents"), list)
        for p in spec["parents"]
        if isinstance(p, int) and not isinstance(p, bool)
    }
    return lock_parents(Job.objects.filter(organization=organization, pk__in=ids)) if ids else {}


def _check_tile_input(input_id: int, *, organization: Organization, field: str) -> None:
    """The uploaded input must be this organization's. The row lock (FOR NO KEY UPDATE, held to
    commit) makes a concurrent tile_inputs.delete_tile_input wait and then see the new job, so an
    input cannot vanish between this check and the job's commit."""
    with transaction.atomic():
        found = TileInput.objects.select_for_update(no_key=True).filter(organization=organization, pk=input_id)
        if not found.exists():
            raise JobParamsError(f"no tile input {input_id} in this organization", field=field)
