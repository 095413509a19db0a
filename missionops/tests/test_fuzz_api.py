"""`schemathesis run --checks all` on the whole API: every phase (examples, coverage, fuzzing,
stateful), every check, a fixed seed; in-process (click's runner) against pytest-django's live
server, authenticated with an admin API key of an organization with data.

Left out, by operation id (EXCLUDED): what would destroy what the run stands on (revoking or
rotating the run's own key) and what reaches outside hosts (a webhook's test and redeliver, Alpaca
discovery, connect and disconnect). `schemathesis.toml` beside this file lists, per operation, the
rules the schema cannot state (rows named by id, rules across fields, opaque cursors) and the 400
the API answers to them; everything else must pass every check."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from schemathesis.cli import schemathesis as schemathesis_cli

from missionops.services import apikeys
from spacecraft.profiles import PROFILES

pytestmark = pytest.mark.slow
SEED = 22
EXAMPLES_PER_OPERATION = 5
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXCLUDED = [
    # destructive: the run's own key
    "v1_api_keys_revoke_create",
    "v1_api_keys_rotate_create",
    # outbound: webhook receivers and Alpaca devices
    "v1_webhooks_test_create",
    "v1_webhooks_deliveries_redeliver_create",
    "v1_observatories_discover_create",
    "v1_alpaca_devices_connect_create",
    "v1_alpaca_devices_disconnect_create",
]


@pytest.fixture
def admin_key(transactional_db, org_a, owner, make_spacecraft, monkeypatch):
    """An organization with a spacecraft and an all-scopes key."""
    from rest_framework.throttling import SimpleRateThrottle

    rates = {scope: "100000/min" for scope in SimpleRateThrottle.THROTTLE_RATES}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    make_spacecraft(org_a, "SC-001", parameters=PROFILES["LEO_IMAGING"], norad_id=25544)
    return apikeys.create_api_key(organization=org_a, name="fuzz", scopes=["read", "ingest", "operate", "admin"])[1]


@pytest.mark.timeout(1800)  # about 8 minutes on 2 cores, almost all of it the coverage phase
def test_schemathesis_run_checks_all(admin_key, live_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the run keeps its cache in ./.schemathesis
    arguments = [
        f"--config-file={CONFIG}",
        "run",
        f"{live_server.url}/api/schema/?format=json",
        "--checks=all",
        f"--seed={SEED}",
        f"--max-examples={EXAMPLES_PER_OPERATION}",
        "--workers=1",
        "--no-color",
        f"--header=Authorization: Api-Key {admin_key}",
        *(f"--exclude-operation-id={operation}" for operation in EXCLUDED),
    ]
    result = CliRunner().invoke(schemathesis_cli, arguments, catch_exceptions=False)
    (tmp_path / "schemathesis.txt").write_text(result.output)
    assert result.exit_code == 0, result.output[-20000:]


@pytest.mark.django_db
def test_every_operation_the_run_names_exists(client):
    """An operation renamed in the schema (its answer changed from a list to an object) silently
    dropped out of schemathesis.toml's allowances: every id named there must exist."""
    import re

    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    ids = {op["operationId"] for ops in schema["paths"].values() for op in ops.values() if "operationId" in op}
    named = set(re.findall(r'"(v1_[a-z0-9_]+)"', CONFIG.read_text())) | set(EXCLUDED)
    assert named and named <= ids, sorted(named - ids)
