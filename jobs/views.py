"""Dashboard pages of the job queue: the queue with GPUs, a footprint map and the uploaded tile
inputs, and one job."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from missionops.exceptions import DomainError
from missionops.models import OPERATING_ROLES, Membership
from missionops.paging import paginate

from . import selectors
from .exceptions import JobParamsError
from .filters import JobFilter
from .models import JobKind, JobState
from .services import tile_inputs

JOB_SORTS = {
    "id": "id",
    "name": "name",
    "kind": "kind",
    "state": "state",
    "progress": "progress",
    "priority": "priority",
    "attempts": "attempts",
    "created": "created_at",
}
TILE_INPUT_ROWS = 20


@login_required
def jobs_page(request):
    queryset = selectors.jobs_visible_to(request.user).select_related("organization", "created_by")
    error = ""
    try:
        filtered = JobFilter(request.GET, queryset=queryset, request=request)
        table = paginate(
            request, filtered.qs if filtered.is_valid() else queryset.none(), sorts=JOB_SORTS, default="-id"
        )
        jobs = list(table.rows)
        if not filtered.is_valid():
            error = "; ".join(f"{k}: {' '.join(v)}" for k, v in filtered.errors.items())
    except JobParamsError as refused:
        table = paginate(request, queryset.none(), sorts=JOB_SORTS, default="-id")
        jobs, error = [], f"{refused.field}: {refused.message}"
    operated = [
        m.organization
        for m in Membership.objects.filter(user=request.user, role__in=OPERATING_ROLES).select_related("organization")
    ]
    can_operate = bool(operated)
    footprints = [
        {"id": j.pk, "state": j.state, "name": j.name or f"job {j.pk}", "footprint": j.footprint}
        for j in jobs
        if j.footprint
    ]
    return render(
        request,
        "jobs/queue.html",
        {
            "area": "jobs",
            "jobs": jobs,
            "table": table,
            "counts": selectors.job_counts(request.user),
            "states": JobState,
            "kinds": JobKind,
            "gpus": selectors.gpus_with_latest_sample(),
            "can_operate": can_operate,
            "footprints": footprints,
            "filters": request.GET,
            "selected_states": request.GET.getlist("state"),
            "error": error,
            "tile_inputs": selectors.tile_inputs_visible_to(request.user)
            .select_related("organization")
            .order_by("-created_at", "-id")[:TILE_INPUT_ROWS],
            "upload_organizations": operated,
        },
    )


@login_required
@require_POST
def tile_input_upload(request):
    memberships = Membership.objects.filter(user=request.user, role__in=OPERATING_ROLES).select_related("organization")
    operated = {m.organization.slug: m.organization for m in memberships}
    slug = request.POST.get("organization") or (next(iter(operated)) if len(operated) == 1 else "")
    if slug not in operated:
        raise PermissionDenied("you need the operator or admin role in that organization")
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise JobParamsError("choose a .npz file", field="file")
        scale = request.POST.get("scale", "").strip()
        try:
            scale = float(scale) if scale else None
        except ValueError:
            raise JobParamsError("scale must be a number", field="scale") from None
        tile_inputs.check_upload_size(upload.size)
        made = tile_inputs.create_tile_input(
            organization=operated[slug],
            actor=request.user,
            data=upload.read(),
            name=request.POST.get("name") or upload.name.removesuffix(".npz"),
            scale=scale,
        )
        messages.success(request, f'tile input {made.pk} stored: submit tile jobs with params {{"input": {made.pk}}}')
    except DomainError as error:
        messages.error(request, f"{error.field}: {error.message}")
    return redirect("jobs")


@login_required
def job_detail(request, pk):
    job = get_object_or_404(
        selectors.jobs_visible_to(request.user).select_related("organization", "created_by", "template"), pk=pk
    )
    logs = list(job.logs.order_by("-id")[:500])[::-1]
    return render(
        request,
        "jobs/detail.html",
        {
            "area": "jobs",
            "job": job,
            **result_display(job.result),
            "logs": logs,
            "last_log_id": logs[-1].pk if logs else 0,
            "artifacts": job.artifacts.defer("data").order_by("name"),
            "parents": job.parents.order_by("pk"),
            "children": job.children.order_by("pk"),
            "can_operate": selectors.can_operate_jobs(request.user, job.organization),
        },
    )


HISTOGRAM_W, HISTOGRAM_H = 400, 120
MAX_HISTOGRAM_BINS = 200


def result_display(result) -> dict:
    """A job's result for the page: its single values as a table, an NDVI histogram (a tile job's)
    as SVG bars, and the whole result as indented JSON."""
    if not isinstance(result, dict):  # the kinds return dicts; anything else is shown as it is
        as_json = json.dumps(result, indent=2) if result not in (None, {}) else ""
        return {"result_rows": [], "histogram": None, "result_json": as_json}
    rows = [(key, shown) for key, value in sorted(result.items()) if (shown := _single_value(value)) is not None]
    counts = result.get("ndvi_histogram")
    histogram = None
    if (
        isinstance(counts, list)
        and 0 < len(counts) <= MAX_HISTOGRAM_BINS
        and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)
    ):
        width, top, step = HISTOGRAM_W / len(counts), max(max(counts), 1), 2 / len(counts)
        bars = []
        for i, count in enumerate(counts):
            height = HISTOGRAM_H * count / top
            low = -1 + i * step  # the tile workload bins NDVI over [-1, 1]
            bars.append(
                {"x": round(i * width, 1), "y": round(HISTOGRAM_H - height, 1), "w": round(max(width - 1, 0.5), 1),
                 "h": round(height, 1), "title": f"NDVI {low:.2f} to {low + step:.2f}: {count} px"}
            )  # fmt: skip
        histogram = {"bars": bars, "width": HISTOGRAM_W, "height": HISTOGRAM_H, "mid": HISTOGRAM_W / 2}
    return {"result_rows": rows, "histogram": histogram, "result_json": json.dumps(result, indent=2, sort_keys=True)}


def _single_value(value) -> str | None:
    """How a result value reads in the table; None for what only the JSON shows (long lists, objects)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if (
        isinstance(value, list)
        and len(value) <= 6
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        return ", ".join(str(v) if isinstance(v, int) else f"{v:.6g}" for v in value)
    return None
