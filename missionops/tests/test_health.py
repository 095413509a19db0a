import pytest


@pytest.mark.slow
def test_healthy_with_a_real_worker(client, celery_worker_process):
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["components"]) == {"database", "redis", "channel_layer", "celery"}
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
