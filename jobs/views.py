"""Dashboard pages of the job queue: the queue with GPUs, a footprint map and the uploaded tile
inputs, and one job."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from missionops.exceptions import DomainError
from missionops.models import Membership

from . import selectors, tile_inputs
from .api import OPERATE, JobFilter
from .exceptions import JobParamsError
from .models import JobKind, JobState

PAGE_ROWS = 200
TILE_INPUT_ROWS = 20


@login_required
def jobs_page(request):
    queryset = selectors.jobs_visible_to(request.user).select_related("organization", "created_by")
    error = ""
    try:
        filtered = JobFilter(request.GET, queryset=queryset)
        jobs = list(filtered.qs.order_by("-created_at", "-id")[:PAGE_ROWS]) if filtered.is_valid() else []
        if not filtered.is_valid():
            error = "; ".join(f"{k}: {' '.join(v)}" for k, v in filtered.errors.items())
    except JobParamsError as refused:
        jobs, error = [], f"{refused.field}: {refused.message}"
    operated = [
        m.organization
        for m in Membership.objects.filter(user=request.user, role__in=OPERATE).select_related("organization")
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
            "counts": selectors.job_counts(request.user),
            "states": JobState,
            "kinds": JobKind,
            "gpus": selectors.gpus_with_latest_sample(),
            "can_operate": can_operate,
            "footprints": footprints,
            "filters": request.GET,
            "selected_states": request.GET.getlist("state"),
            "error": error,
            "page_rows": PAGE_ROWS,
            "tile_inputs": selectors.tile_inputs_visible_to(request.user)
            .select_related("organization")
            .order_by("-created_at", "-id")[:TILE_INPUT_ROWS],
            "upload_organizations": operated,
        },
    )


@login_required
@require_POST
def tile_input_upload(request):
    memberships = Membership.objects.filter(user=request.user, role__in=OPERATE).select_related("organization")
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


def result_display(result: dict | None) -> dict:
    """A job's result for the page: its single values as a table, an NDVI histogram (a tile job's)
    as SVG bars, and the whole result as indented JSON."""
    if not result:
        return {"result_rows": [], "histogram": None, "result_json": ""}
    rows = []
    for key, value in sorted(result.items()):
        if isinstance(value, float):
            rows.append((key, f"{value:.4g}"))
        elif isinstance(value, int | str | bool) or value is None:
            rows.append((key, value))
        elif isinstance(value, list) and len(value) <= 6 and all(isinstance(v, int | float) for v in value):
            rows.append((key, ", ".join(f"{v:g}" for v in value)))
    counts = result.get("ndvi_histogram")
    histogram = None
    if isinstance(counts, list) and counts and all(isinstance(c, int) for c in counts):
        width, top = HISTOGRAM_W / len(counts), max(max(counts), 1)
        bars = []
        for i, count in enumerate(counts):
            height = HISTOGRAM_H * count / top
            low = -1 + 2 * i / len(counts)  # the tile workload bins NDVI over [-1, 1]
            bars.append(
                {"x": round(i * width, 1), "y": round(HISTOGRAM_H - height, 1), "w": round(width - 1, 1),
                 "h": round(height, 1), "title": f"NDVI {low:.1f} to {low + 2 / len(counts):.1f}: {count} px"}
            )  # fmt: skip
        histogram = {"bars": bars, "width": HISTOGRAM_W, "height": HISTOGRAM_H, "mid": HISTOGRAM_W / 2}
    return {"result_rows": rows, "histogram": histogram, "result_json": json.dumps(result, indent=2, sort_keys=True)}
