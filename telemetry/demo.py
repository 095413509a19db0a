"""seed_demo hook: history for the demo fleet (`seed_demo --minutes N --interval S`)."""

import datetime as dt

from tqdm import tqdm

from . import services
from .models import Interface
from .simulator import SpacecraftSimulator

BATCH_SNAPSHOTS = 2000


def add_arguments(parser):
    parser.add_argument("--minutes", type=int, default=60, help="minutes of telemetry history to load (default 60)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between history samples (default 10)")


def seed(*, organization, actor, log, options, stderr):
    minutes, interval = options.get("minutes", 60), options.get("interval", 10.0)
    if minutes <= 0 or interval <= 0:
        return
    fleet = list(organization.spacecraft.order_by("designation"))
    simulators = [
        SpacecraftSimulator(sc, sc.current_config.parameters if sc.current_config else {}, seed=i)
        for i, sc in enumerate(fleet)
    ]
    # Times on a grid of `interval`, so re-running seed_demo stores nothing twice.
    end = dt.datetime.fromtimestamp(
        (dt.datetime.now(dt.UTC).timestamp() // interval) * interval, tz=dt.UTC
    ) - dt.timedelta(seconds=interval)
    steps = int(minutes * 60 / interval)
    moments = [end - dt.timedelta(seconds=interval * (steps - 1 - i)) for i in range(steps)]
    scope = services.organization_scope(organization)
    stored = received = 0
    with tqdm(total=steps * len(fleet), desc="telemetry history", unit="snapshot", file=stderr, disable=None) as bar:
        per_batch = max(1, BATCH_SNAPSHOTS // max(1, len(fleet)))
        for i in range(0, steps, per_batch):
            snapshots = [sim.snapshot(moment) for moment in moments[i : i + per_batch] for sim in simulators]
            result = services.ingest(snapshots=snapshots, scope=scope, interface=Interface.SIMULATOR)
            stored, received = stored + result.stored, received + result.received
            bar.update(len(snapshots))
    services.roll_up(limit=1_000_000)
    if stored:
        log(f"load {stored} telemetry samples ({minutes} min every {interval:g} s, {received - stored} already there)")
