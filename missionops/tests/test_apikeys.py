"""The per-process API key cache (missionops.services.apikeys.authenticate_key): hits read no key row, and
every change to a key is seen on the next request, in this process and in others."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from missionops.models import ApiKey
from missionops.services import apikeys
from missionops.testing import ROOT, test_database_env


@pytest.fixture
def issued(org_a, owner):
    return apikeys.create_api_key(organization=org_a, name="ci", scopes=["read", "ingest"], actor=owner)


def key_reads(plaintext) -> tuple[ApiKey | None, int]:
    with CaptureQueriesContext(connection) as queries:
        key = apikeys.authenticate_key(plaintext)
    return key, sum('FROM "missionops_apikey"' in q["sql"] for q in queries.captured_queries)


def test_a_cached_key_reads_no_row_and_is_lent_as_a_copy(issued, org_a):
    key, text = issued
    first, reads = key_reads(text)
    assert (first.pk, first.organization, first.scopes, reads) == (key.pk, org_a, ["read", "ingest"], 1)
    first.service_user._perm_cache = {"spacecraft.anything"}  # what a request may cache on its user
    second, reads = key_reads(text)
    assert (second.pk, reads) == (key.pk, 0)
    assert second is not first and second.service_user is not first.service_user
    assert not hasattr(second.service_user, "_perm_cache")


def test_revoke_rotate_and_any_update_are_seen_at_once(issued, owner):
    key, text = issued
    assert key_reads(text)[0] is not None
    apikeys.rotate_api_key(key=key, actor=owner, grace=timedelta(hours=1))
    rotated, reads = key_reads(text)
    assert reads == 1 and rotated.replaced_by_id is not None  # re-read: the grace expiry is known
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert key_reads(text) == (None, 1)
    other, other_text = apikeys.create_api_key(organization=key.organization, name="b", scopes=["read"], actor=owner)
    assert key_reads(other_text)[0].scopes == ["read"]
    ApiKey.objects.filter(pk=other.pk).update(scopes=["read", "operate"])
    assert key_reads(other_text)[0].scopes == ["read", "operate"]
    apikeys.revoke_api_key(key=other, actor=owner)
    assert key_reads(other_text) == (None, 1)


def test_expiry_is_checked_on_every_use(issued):
    key, text = issued
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() + timedelta(seconds=1))
    assert key_reads(text)[0] is not None
    later = timezone.now() + timedelta(seconds=2)
    assert apikeys._keys[apikeys.hash_key(text)][0].is_usable(later) is False


@pytest.mark.django_db(transaction=True)
def test_a_revocation_in_another_process_is_seen_by_the_next_request(org_a, owner):
    key, text = apikeys.create_api_key(organization=org_a, name="ci", scopes=["read"], actor=owner)
    assert key_reads(text)[0] is not None
    assert key_reads(text)[1] == 0  # cached
    script = (
        "from missionops.services import apikeys; from missionops.models import ApiKey; "
        f"apikeys.revoke_api_key(key=ApiKey.objects.get(pk={key.pk}))"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=test_database_env(), check=True, timeout=120
    )
    assert key_reads(text) == (None, 1)


def test_without_the_shared_cache_every_request_reads_the_row(issued, settings):
    key, text = issued
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    for _ in range(2):
        found, reads = key_reads(text)
        assert (found.pk, reads) == (key.pk, 1)
