import datetime as dt

import pytest

from telemetry import services


@pytest.fixture
def ingest_as(db):
    """ingest_as(user, snapshots) -> IngestResult, through the user's scope like the API."""

    def run(user, snapshots, interface="service"):
        scope, may_write = services.writable_scope_for(user)
        return services.ingest(snapshots=snapshots, scope=scope, may_write=may_write, interface=interface)

    return run


@pytest.fixture
def now_minute():
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=5)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
