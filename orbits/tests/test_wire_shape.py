"""Live messages of the orbits app carry the REST representations: a `positions` message the
positions the API answers (`latitude_deg`, not a renamed `lat`), a pass announcement the stored
pass, a critical conjunction the close approach."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from missionops.models import Event
from orbits import services
from orbits.models import Conjunction, Pass
from orbits.services import screening

from .test_api import fresh_tle
from .test_conjunctions import EPOCH, PRIMARY, catalogue

pytestmark = pytest.mark.django_db


def test_position_and_pass_messages_are_what_the_api_answers(
    api, viewer, make_spacecraft, org_a, station_a, live_sent, django_capture_on_commit_callbacks
):
    leo = make_spacecraft(org_a, "SC-LEO", norad_id=90001)
    services.import_tles(organization=org_a, text=fresh_tle())
    client, now = api(viewer), datetime.now(UTC)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.propagate_fleet(now=now) == 1
    [positions] = [m for topic, m in live_sent if topic == "fleet" and m["kind"] == "positions"]
    shown = client.get(f"/api/v1/spacecraft/{leo.pk}/position/", {"at": now.isoformat()}).json()
    assert positions == {"kind": "positions", "data": [shown]}
    assert {"latitude_deg", "longitude_deg", "altitude_km"} <= set(shown)

    first = Pass.objects.filter(aos__gt=timezone.now()).order_by("aos").first()
    with django_capture_on_commit_callbacks(execute=True):
        services.announce_passes(now=first.aos + (first.los - first.aos) / 2)
    started = [m for topic, m in live_sent if topic == "passes" and m["data"].get("id") == first.pk]
    assert started == [{"kind": "pass.started", "data": client.get(f"/api/v1/passes/{first.pk}/").json()}]
    assert started[0]["data"]["designation"] == "SC-LEO" and started[0]["data"]["station_name"] == "Wallops"
    assert Event.objects.get(kind="pass.started").payload == started[0]["data"]


def test_a_critical_conjunction_message_is_the_approach_as_the_api_shows_it(
    api, viewer, make_spacecraft, org_a, live_sent, django_capture_on_commit_callbacks
):
    make_spacecraft(org_a, "SC-PRIMARY", norad_id=1)
    services.import_tles(organization=org_a, text="PRIMARY\n" + "\n".join(PRIMARY) + "\n")
    screening.import_catalogue(text="".join(f"OBJ {i}\n{a}\n{b}\n" for i, (a, b) in enumerate(catalogue())), source="t")
    with django_capture_on_commit_callbacks(execute=True):
        screening.screen_conjunctions(
            organization=org_a, start=EPOCH, days=0.5, threshold_km=5.0, critical_km=4.0, processes=1
        )
    critical = [m for topic, m in live_sent if topic == "alarms" and m["kind"] == "conjunction.critical"]
    assert critical and len(critical) == Conjunction.objects.filter(critical=True).count()
    client = api(viewer)
    for message in critical:
        assert message["data"] == client.get(f"/api/v1/conjunctions/{message['data']['id']}/").json()
