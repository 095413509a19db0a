"""Safe defaults: no start without a secret key outside DEBUG, /metrics closed unless opened, the
demo superuser only where allowed."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from missionops.testing import ROOT


def settings_load(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "missionops.settings", **env},
        capture_output=True,
        text=True,
    )


def test_no_secret_key_refuses_to_start_unless_debug():
    refused = settings_load(DEBUG="false", SECRET_KEY="")
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr
    assert settings_load(DEBUG="true", SECRET_KEY="").returncode == 0
    assert settings_load(DEBUG="false", SECRET_KEY="x" * 50).returncode == 0


@pytest.mark.django_db
def test_metrics_need_their_token_unless_loopback_is_opened(client, settings):
    settings.METRICS_ALLOW_LOOPBACK, settings.METRICS_TOKEN = False, ""
    assert client.get("/metrics").status_code == 403  # loopback, but not opened
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
    settings.METRICS_ALLOW_LOOPBACK = True
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


@pytest.mark.django_db
def test_demo_superuser_only_with_the_flag_where_allowed(settings):
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    demo = get_user_model().objects.get(username="demo")
    assert not demo.is_superuser and not demo.is_staff
    settings.DEMO_SUPERUSER_ALLOWED = False
    with pytest.raises(CommandError, match="refused"):
        call_command("seed_demo", "--demo-superuser", stdout=StringIO(), stderr=StringIO())
    settings.DEMO_SUPERUSER_ALLOWED = True
    get_user_model().objects.filter(username="demo").delete()
    call_command("seed_demo", "--demo-superuser", stdout=StringIO(), stderr=StringIO())
    assert get_user_model().objects.get(username="demo").is_superuser
