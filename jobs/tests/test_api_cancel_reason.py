"""A cancel reason is checked for length as sent (the schema's maxLength), then stored trimmed."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_a_reason_longer_than_300_with_leading_spaces_is_refused(operator, org_a):
    from jobs import services

    job = services.submit_job(organization=org_a, actor=operator, kind="sleep", params={"duration_s": 5})
    client = APIClient()
    client.force_authenticate(operator)
    too_long = client.post(f"/api/v1/jobs/{job.pk}/cancel/", {"reason": "    " + "x" * 298}, format="json")
    assert too_long.status_code == 400 and too_long.json()["field"] == "reason"
    ok = client.post(f"/api/v1/jobs/{job.pk}/cancel/", {"reason": "  operator request  "}, format="json")
    assert ok.status_code == 200 and ok.json()["cancel_reason"] == "operator request"
