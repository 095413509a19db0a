from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from planning.models import ImagingRequest, Plan


def test_plan_missions(org_a, imaging, make_request):
    make_request(imaging["lat"], imaging["lon"])
    out, err = StringIO(), StringIO()
    call_command(
        "plan_missions", "--organization", org_a.slug, "--hours", "12", "--time-limit", "5", stdout=out, stderr=err
    )
    plan = Plan.objects.get()
    assert f"{org_a.slug}: plan {plan.pk}, value 5" in out.getvalue()
    assert "1 imaging slots, 1 downlinks" in out.getvalue()
    assert plan.trigger.startswith("plan_missions")
    # Nothing new since: --only-triggered plans nothing.
    call_command("plan_missions", "--only-triggered", stdout=StringIO(), stderr=StringIO())
    assert Plan.objects.count() == 1


def test_plan_missions_refuses_bad_input(org_a):
    with pytest.raises(CommandError, match="no organization"):
        call_command("plan_missions", "--organization", "nope", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="horizon_h"):
        call_command("plan_missions", "--hours", "1000", stdout=StringIO(), stderr=StringIO())


def test_seed_demo_seeds_requests_and_a_plan(db):
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    assert ImagingRequest.objects.count() >= 10
    assert "create imaging request 'Etna summit'" in out.getvalue()
    plan = Plan.objects.get()
    assert plan.trigger == "seed_demo" and plan.stats["violations"] == 0
    again = StringIO()
    call_command("seed_demo", stdout=again, stderr=StringIO())
    assert "imaging request" not in again.getvalue() and Plan.objects.count() == 1
