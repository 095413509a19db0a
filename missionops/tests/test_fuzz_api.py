"""schemathesis against /api/schema/ on every API operation, authenticated with an admin API key of
an organization with data: no 5xx, no response that breaks the schema (body or content type).

Undocumented error statuses (403/404/409/413/429) are not counted: status_code_conformance would
require every viewset to enumerate them, and the isolation walk asserts those codes directly."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from missionops import apikeys
from spacecraft.profiles import PROFILES

pytestmark = pytest.mark.slow
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES_PER_OPERATION = 8


@pytest.fixture
def admin_key(transactional_db, org_a, owner, make_spacecraft, monkeypatch):
    """An organization with a spacecraft and an all-scopes key. transactional_db: the WSGI app
    closes connections after each request, as in production."""
    from rest_framework.throttling import SimpleRateThrottle

    rates = {scope: "100000/min" for scope in SimpleRateThrottle.THROTTLE_RATES}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    make_spacecraft(org_a, "SC-001", parameters=PROFILES["LEO_IMAGING"], norad_id=25544)
    return apikeys.create_api_key(organization=org_a, name="fuzz", scopes=["read", "ingest", "operate", "admin"])[1]


def test_every_api_operation(admin_key):
    # schemathesis' own pytest integration does not run under pytest 9 yet ('Function' has no
    # '_nodeid'), so each operation's strategy is driven by Hypothesis here; failures are collected.
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    headers = {"Authorization": f"Api-Key {admin_key}"}
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case):
            case.validate_response(case.call(headers=headers), checks=CHECKS)

        try:
            exercise()
        except BaseException as failure:  # FailureGroup is a BaseExceptionGroup: collect, report all at the end
            if isinstance(failure, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {str(failure)[:1500]}")
    assert operations > 40
    assert not failures, f"{len(failures)} of {operations} operations failed:\n\n" + "\n\n".join(failures)
