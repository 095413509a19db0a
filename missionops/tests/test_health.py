import time

import pytest

from missionops import health
from missionops.models import Event

BASE_COMPONENTS = {"database", "redis", "channel_layer", "celery", "ingest_lag", "mqtt_bridge"}


@pytest.fixture(autouse=True)
def empty_registry(settings):
    """Each test gets its own registry key: components of other runs never leak in."""
    settings.HEALTH_REGISTRY_KEY = f"health-test-{time.monotonic_ns()}:components"
    key, redis_url = health._registry_key(), settings.REDIS_URL
    yield
    import redis

    redis.Redis.from_url(redis_url).delete(key)


@pytest.mark.slow
def test_healthy_with_a_real_worker(client, celery_worker_process):
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["components"]) >= BASE_COMPONENTS
    assert body["components"]["ingest_lag"]["status"] == "Unknown"  # no telemetry in this database
    assert body["components"]["mqtt_bridge"]["status"] == "Degraded"  # no bridge runs in this test
    assert body["components"]["celery"]["status"] == "Healthy"
    assert celery_worker_process in body["components"]["celery"]["detail"]
    assert body["status"] in ("Healthy", "Degraded")


@pytest.mark.django_db
def test_no_worker_is_unhealthy_and_503(client, settings):
    settings.HEALTH_CHECK_TIMEOUT_S = 0.5
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "Unhealthy"
    assert body["components"]["celery"] == {
        "status": "Unhealthy",
        "latency_ms": body["components"]["celery"]["latency_ms"],
        "detail": "no Celery worker answered ping",
    }
    assert body["components"]["database"]["status"] in ("Healthy", "Degraded")


@pytest.mark.django_db
def test_unreachable_redis_is_unhealthy(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.HEALTH_CHECK_TIMEOUT_S = 0.5
    body = client.get("/health/").json()
    assert body["components"]["redis"]["status"] == "Unhealthy"
    assert "ConnectionError" in body["components"]["redis"]["detail"]


@pytest.mark.django_db
def test_missed_heartbeat_turns_unhealthy_records_event_and_503(client, org_a, org_b, settings):
    settings.HEALTH_CHECK_TIMEOUT_S = 0.5
    health.heartbeat("bridge-a", kind="mqtt_bridge", interval_s=2)
    health.heartbeat(health.MQTT_BRIDGE, kind="mqtt_bridge", interval_s=2, detail="1.2k msg/s")
    body = client.get("/health/").json()
    assert body["components"]["component:bridge-a"]["status"] == "Healthy"
    assert body["components"]["mqtt_bridge"] == {
        "status": "Healthy",
        "latency_ms": body["components"]["mqtt_bridge"]["latency_ms"],
        "detail": "1.2k msg/s",
    }
    assert health.sweep_components() == []

    later = time.time() + 10  # 5 intervals without a heartbeat
    transitions = health.sweep_components(now=later)
    assert {t["component"] for t in transitions} == {"bridge-a", health.MQTT_BRIDGE}
    assert all(t["to"] == "Unhealthy" and "missed heartbeat" in t["detail"] for t in transitions)
    assert Event.objects.filter(kind="health.component", organization=org_a).count() == 2
    assert Event.objects.filter(kind="health.component", organization=org_b).count() == 2
    assert health.sweep_components(now=later) == []  # recorded once

    health.heartbeat("bridge-a", kind="mqtt_bridge", interval_s=2)  # back
    back = health.sweep_components()
    assert [t["to"] for t in back if t["component"] == "bridge-a"] == ["Healthy"]


@pytest.mark.django_db
def test_deregistered_component_leaves_the_report(client):
    health.heartbeat("worker:gone", kind="celery_worker", interval_s=1)
    assert "component:worker:gone" in health.platform_health()["components"]
    health.deregister("worker:gone")
    assert "component:worker:gone" not in health.platform_health()["components"]


@pytest.mark.slow
def test_celery_worker_registers_and_deregisters(celery_worker_process, settings):
    settings.HEALTH_REGISTRY_KEY = None  # the worker's registry: the test channel prefix's
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and f"worker:{celery_worker_process}" not in health.registered_components():
        time.sleep(0.2)
    entry = health.registered_components()[f"worker:{celery_worker_process}"]
    assert entry["kind"] == "celery_worker" and entry["status"] == "Healthy"


@pytest.mark.django_db
def test_job_workers_and_mqtt_bridge_degraded_while_none_is_alive(settings):
    """Queued jobs wait and MQTT telemetry is not ingested while none runs: Degraded, not Unknown."""
    assert health.check_job_workers()[0] == "Degraded"
    status, detail = health.check_mqtt_bridge()
    assert status == "Degraded" and "ingest_mqtt" in detail
    assert health.overall_status([health.check_job_workers()[0], "Healthy"]) == "Degraded"

    health.heartbeat("job_worker:gpu-host-1", kind=health.JOB_WORKER, interval_s=2)
    health.heartbeat(health.MQTT_BRIDGE, kind="mqtt_bridge", interval_s=2, detail="12 msg/s")
    assert health.check_job_workers() == ("Healthy", "1 job worker(s) alive")
    assert health.check_mqtt_bridge() == ("Healthy", "12 msg/s")

    health.deregister(health.MQTT_BRIDGE)
    settings.HEALTH_EXPECT_MQTT_BRIDGE = False
    assert health.check_mqtt_bridge()[0] == "Unknown"
