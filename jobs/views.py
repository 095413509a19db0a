"""Dashboard pages of the job queue: the queue with GPUs and a footprint map, and one job."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from missionops.models import Membership

from . import selectors
from .api import JobFilter
from .exceptions import JobParamsError
from .models import JobKind, JobState

PAGE_ROWS = 200


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
    can_operate = Membership.objects.filter(user=request.user, role__in=["operator", "admin"]).exists()
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
        },
    )


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
            "logs": logs,
            "last_log_id": logs[-1].pk if logs else 0,
            "artifacts": job.artifacts.defer("data").order_by("name"),
            "parents": job.parents.order_by("pk"),
            "children": job.children.order_by("pk"),
            "can_operate": selectors.can_operate_jobs(request.user, job.organization),
        },
    )
