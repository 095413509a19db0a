"""seed_demo hook: a few demo jobs (a small DAG over the Alps) and a nightly template, once."""

from .models import Job, JobTemplate
from .services import save_template, submit_jobs


def _square(west, south, size=1.0):
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def seed(*, organization, actor, log, options, stderr):
    if not JobTemplate.objects.filter(organization=organization, name="Nightly Alps NDVI").exists():
        save_template(
            organization=organization,
            actor=actor,
            name="Nightly Alps NDVI",
            kind="tile",
            params={"seed": 42, "size_px": 512},
            footprint=_square(10, 46),
            cron="0 2 * * *",
        )
        log("job template 'Nightly Alps NDVI' scheduled at 02:00 UTC")
    if Job.objects.filter(organization=organization).exists():
        return
    tiles = submit_jobs(
        organization=organization,
        actor=actor,
        specs=[
            {
                "kind": "tile",
                "name": f"Alps tile {i}",
                "params": {"seed": i, "size_px": 512},
                "footprint": _square(6 + 2 * i, 45),
            }
            for i in range(4)
        ],
    )
    submit_jobs(
        organization=organization,
        actor=actor,
        specs=[
            {
                "kind": "tile",
                "name": "Fiji (crosses 180°)",
                "footprint": {
                    "type": "Polygon",
                    "coordinates": [[[178, -18], [-178, -18], [-178, -16], [178, -16], [178, -18]]],
                },
            },
            {
                "kind": "sleep",
                "name": "mosaic after Alps tiles",
                "params": {"duration_s": 3},
                "parents": [t.pk for t in tiles],
            },
        ],
    )
    log("demo jobs: 4 Alps tiles, a Fiji tile, a mosaic waiting on the Alps tiles (run `manage.py job_worker`)")
