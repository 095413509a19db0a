"""The spacecraft admin offers for editing only what it saves."""

import re

import pytest

from spacecraft import services

pytestmark = pytest.mark.django_db


def test_change_form_edits_only_saved_fields_and_saves_them(admin_client, sc_a):
    page = admin_client.get(f"/admin/spacecraft/spacecraft/{sc_a.pk}/change/").content.decode()
    inputs = set(re.findall(r'<(?:input|select|textarea)[^>]*name="([a-z_]+)"', page)) - {"csrfmiddlewaretoken"}
    offered = {name for name in inputs if not name.startswith("_")}
    assert "runtime" not in offered and "organization" not in offered
    assert offered <= set(services.REGISTRY_FIELDS), offered - set(services.REGISTRY_FIELDS)
    sc_a.runtime = {"kept": True}
    sc_a.save(update_fields=["runtime"])
    form = {name: "" for name in offered}
    form.update(
        designation=sc_a.designation,
        name="Renamed",
        mission_type=sc_a.mission_type,
        safe_soc_threshold_pct="25",
        survival_soc_threshold_pct="12",
        runtime='{"hacked": 1}',
    )
    for prefix in re.findall(r'name="([\w-]+)-TOTAL_FORMS"', page):
        form.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    answer = admin_client.post(f"/admin/spacecraft/spacecraft/{sc_a.pk}/change/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    sc_a.refresh_from_db()
    assert sc_a.name == "Renamed" and sc_a.safe_soc_threshold_pct == 25
    assert sc_a.runtime == {"kept": True}  # read-only: never offered, never changed
