"""Uploaded tile inputs: upload (validated whole before anything is written), delete (refused
while an open job or a template still names it) and the read a worker does before a tile job."""

import hashlib

from django.conf import settings
from django.db import transaction

from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none

from ..exceptions import JobParamsError, TileInputInUse
from ..models import TERMINAL_STATES, Job, JobKind, JobTemplate, TileInput
from ..workloads.npz import BANDS, read_band_archive

# A full 4096 x 4096 four-band uint16 tile is 128 MiB uncompressed; float bands that size need
# numpy.savez_compressed. The whole file is held in memory by the web process and the worker.
DEFAULT_MAX_BYTES = 160 * 1024 * 1024


def max_upload_bytes() -> int:
    """The largest tile input accepted (JOBS_TILE_INPUT_MAX_BYTES)."""
    return int(settings.JOBS_TILE_INPUT_MAX_BYTES)


def check_upload_size(size_bytes: int) -> None:
    """Refuse an oversized file before reading it (the API calls this on the upload's size)."""
    limit = max_upload_bytes()
    if size_bytes > limit:
        raise JobParamsError(
            f"the file is {size_bytes / 2**20:.1f} MiB; at most {limit / 2**20:g} MiB "
            "(save float bands with numpy.savez_compressed)",
            field="file",
        )
    if size_bytes == 0:
        raise JobParamsError("the file is empty", field="file")


@transaction.atomic
def create_tile_input(
    *, organization: Organization, actor, data: bytes, name: str = "", scale: float | None = None
) -> TileInput:
    """Store an uploaded .npz after checking all of it (bands, shapes, dtypes, values, scale).

    A refused file writes nothing. `name` defaults to `tile input <sha256 prefix>`."""
    check_upload_size(len(data))
    archive = read_band_archive(data, scale=scale, keep=False)
    sha256 = hashlib.sha256(data).hexdigest()
    name = (name or "").strip()[:200] or f"tile input {sha256[:12]}"
    tile_input = TileInput.objects.create(
        organization=organization,
        created_by=user_or_none(actor),
        name=name,
        data=data,
        bands=list(BANDS),
        height_px=archive.height_px,
        width_px=archive.width_px,
        dtype=archive.dtype,
        scale=archive.scale,
        size_bytes=len(data),
        sha256=sha256,
    )
    record_event(
        organization=organization,
        kind="tile_input.uploaded",
        subject=tile_input,
        actor=actor,
        payload={"name": name, "shape": [archive.height_px, archive.width_px], "dtype": archive.dtype},
    )
    return tile_input


def _named_by(queryset, tile_input: TileInput):
    return queryset.filter(organization_id=tile_input.organization_id, kind=JobKind.TILE, params__input=tile_input.pk)


def in_use_reason(tile_input: TileInput) -> str | None:
    """Why the input may not be deleted (an open job or a template names it), or None."""
    job = _named_by(Job.objects, tile_input).exclude(state__in=TERMINAL_STATES).order_by("pk").first()
    if job is not None:
        return f"tile input {tile_input.pk} is the input of job {job.pk} ({job.state}); cancel or finish it first"
    template = _named_by(JobTemplate.objects, tile_input).order_by("name").first()
    if template is not None:
        return f"tile input {tile_input.pk} is the input of template {template.name!r}; change or delete it first"
    return None


@transaction.atomic
def delete_tile_input(*, tile_input: TileInput, actor) -> None:
    """Delete an input no open job or template names (409 naming one otherwise).

    Finished jobs keep their results; retrying one of them fails with the input named. The row lock
    waits for a submission that is checking this input (specs._check_tile_input) and then sees its job.
    The API, the jobs page and the admin all delete through here."""
    tile_input = TileInput.objects.select_for_update().defer("data").get(pk=tile_input.pk)
    reason = in_use_reason(tile_input)
    if reason is not None:
        raise TileInputInUse(reason, field="id")
    record_event(
        organization=tile_input.organization,
        kind="tile_input.deleted",
        actor=actor,
        payload={"id": tile_input.pk, "name": tile_input.name, "sha256": tile_input.sha256},
    )
    tile_input.delete()
