"""seed_demo hook: a tile template and a realistic set of imaging requests for the demo fleet,
then a first plan. Idempotent: requests are created once, by name."""

from datetime import timedelta

from django.utils import timezone

from jobs.models import JobTemplate
from jobs.services import save_template

from . import services
from .models import ImagingRequest

TEMPLATE = "Planner quick-look"
# name, target (lon, lat) or polygon ring, priority, hours from now to the deadline, volume Gbit
DEMO_REQUESTS = [
    ("Etna summit", (14.995, 37.751), 13, 48, 4),
    ("Rhine delta flood watch", [[4.0, 51.7], [4.6, 51.7], [4.6, 52.1], [4.0, 52.1], [4.0, 51.7]], 8, 36, 8),
    ("Po valley crops", [[10.0, 44.9], [11.2, 44.9], [11.2, 45.3], [10.0, 45.3], [10.0, 44.9]], 3, 72, 12),
    ("Nile delta irrigation", [[30.5, 30.6], [31.6, 30.6], [31.6, 31.4], [30.5, 31.4], [30.5, 30.6]], 5, 72, 12),
    ("Mount Kilimanjaro glaciers", (37.355, -3.066), 2, 72, 4),
    ("Port of Rotterdam", (4.05, 51.95), 5, 24, 2),
    (
        "Amazon deforestation front",
        [[-55.5, -10.5], [-54.5, -10.5], [-54.5, -9.5], [-55.5, -9.5], [-55.5, -10.5]],
        8,
        72,
        16,
    ),
    ("Sahara dust source", (12.0, 17.5), 1, 72, 4),
    ("Iceland Reykjanes eruption", (-22.36, 63.87), 13, 24, 4),
    ("Lake Chad shoreline", (14.2, 13.2), 2, 60, 6),
    ("Kamchatka volcanoes", (160.64, 56.06), 5, 72, 6),
    (
        "California wildfire watch",
        [[-121.0, 38.5], [-120.2, 38.5], [-120.2, 39.1], [-121.0, 39.1], [-121.0, 38.5]],
        8,
        48,
        8,
    ),
]


def _target(shape) -> dict:
    if isinstance(shape, tuple):
        return {"type": "Point", "coordinates": list(shape)}
    return {"type": "Polygon", "coordinates": [shape]}


def seed(*, organization, actor, log, options, stderr):
    template = JobTemplate.objects.filter(organization=organization, name=TEMPLATE).first()
    if template is None:
        template = save_template(
            organization=organization,
            actor=actor,
            name=TEMPLATE,
            kind="tile",
            params={"size_px": 256, "cloud_cover": 0.2},
            footprint=_target(DEMO_REQUESTS[1][1]),
        )
        log(f"create job template {TEMPLATE!r}")
    now = timezone.now()
    created = 0
    for name, shape, priority, hours, gbit in DEMO_REQUESTS:
        if ImagingRequest.objects.filter(organization=organization, name=name).exists():
            continue
        services.create_request(
            organization=organization,
            actor=actor,
            name=name,
            target=_target(shape),
            earliest_start=now,
            deadline=now + timedelta(hours=hours),
            volume_bits=gbit * 10**9,
            template=template,
            priority=priority,
            min_elevation_deg=45.0,
            min_sun_elevation_deg=10.0,
        )
        created += 1
        log(f"create imaging request {name!r}")
    if created:
        plan = services.compute_plan(organization=organization, actor=actor, trigger="seed_demo", time_limit_s=5)
        log(f"compute plan {plan.pk}: {plan.slots.count()} imaging slots, value {plan.value}")
