"""docker-compose.yml and the Kubernetes manifests validate offline.

No Docker engine or cluster is needed: compose is checked against the Compose
Specification schema (vendored by check-jsonschema), Kubernetes resources
against the API schemas of kubernetes-validate, and KEDA objects against the
fields KEDA's Kafka scaler requires. The kustomizations are walked here the way
kustomize reads them, so a missing file or a typo fails the test.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from services.anomaly.settings import AnomalySettings
from services.forecast.settings import ForecastSettings
from services.gateway.settings import GatewaySettings
from services.ingestor.settings import IngestorSettings
from services.rightsizing.settings import RightsizingSettings

ROOT = Path(__file__).resolve().parents[3]
K8S_BASE = ROOT / "deploy" / "k8s" / "base"
SERVICES = ("ingestor", "anomaly", "rightsizing", "forecast", "gateway")
# Each consumer service's consumer groups, read from its own settings (the one
# place that knows them), so the scalers cannot drift from the services.
CONSUMER_GROUPS = {
    "ingestor": {IngestorSettings().ingestor_cur_group_id},
    "anomaly": {
        AnomalySettings().anomaly_cost_group_id,
        AnomalySettings().anomaly_metric_group_id,
        AnomalySettings().anomaly_usage_group_id,
    },
    "rightsizing": {RightsizingSettings().rightsizing_group_id},
    "forecast": {ForecastSettings().forecast_group_id},
    "gateway": {GatewaySettings().gateway_consumer_group},
}
# Groups whose lag KEDA scales on. Not the ingestor's: its group only assigns
# delivery shares (no lag before the work), and a replica added mid-delivery
# moves shares whose work restarts; ingestor-cur runs a fixed replica count.
SCALED_GROUPS = {name: groups for name, groups in CONSUMER_GROUPS.items() if name != "ingestor"}
K8S_VERSION = "1.32"
# Custom resources (KEDA, Strimzi) are unknown to kubernetes-validate; own tests check them.
CUSTOM_RESOURCE_GROUPS = ("keda.sh/", "kafka.strimzi.io/")

SCALED_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "kafka"},
                            "metadata": {
                                "type": "object",
                                "required": [
                                    "bootstrapServers",
                                    "consumerGroup",
                                    "topic",
                                    "lagThreshold",
                                ],
                                "additionalProperties": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}


def _kustomize(directory: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        path = directory / resource
        assert path.exists(), f"{directory}/kustomization.yaml lists missing {resource}"
        if path.is_dir():
            docs.extend(_kustomize(path))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


@pytest.fixture(scope="module")
def k8s_docs() -> list[dict[str, Any]]:
    return _kustomize(K8S_BASE)


def test_compose_file_matches_the_compose_spec() -> None:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(compose)]
    assert errors == []
    for name in SERVICES:
        service = compose["services"][name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["build"]["args"]["SERVICE"] == name
        assert "healthcheck" in service
        assert service["restart"] == "unless-stopped"
    kafka = (ROOT / "deploy" / "compose" / "kafka" / "server.properties").read_text()
    assert "process.roles=broker,controller" in kafka.splitlines()  # KRaft, no ZooKeeper


def test_kubernetes_resources_validate(k8s_docs: list[dict[str, Any]]) -> None:
    for doc in k8s_docs:
        if doc["apiVersion"].startswith(CUSTOM_RESOURCE_GROUPS):
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_each_service_has_deployment_probes_and_pdb(k8s_docs: list[dict[str, Any]]) -> None:
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in k8s_docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    for name in SERVICES:
        container = by_kind["Deployment"][name]["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]
        assert container["livenessProbe"]
        assert container["resources"]["requests"]
        assert name in by_kind["PodDisruptionBudget"]


def test_consumers_scale_on_their_own_group_lag(k8s_docs: list[dict[str, Any]]) -> None:
    scaled = {d["metadata"]["name"]: d for d in k8s_docs if d["kind"] == "ScaledObject"}
    assert set(scaled) == set(SCALED_GROUPS)
    for name, doc in scaled.items():
        jsonschema.validate(doc, SCALED_OBJECT_SCHEMA)
        assert doc["spec"]["scaleTargetRef"]["name"] == name
        groups = {t["metadata"]["consumerGroup"] for t in doc["spec"]["triggers"]}
        assert groups == SCALED_GROUPS[name]


def test_one_dockerfile_builds_every_service_from_shared_and_its_own_package() -> None:
    assert sorted(p.parent.name for p in (ROOT / "services").glob("*/Dockerfile")) == []
    copies = [
        line.split()[1]
        for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    ]
    assert copies == ["requirements.lock", "shared", "services/__init__.py", "services/${SERVICE}"]
    for name in SERVICES:
        assert (ROOT / "services" / name / "__main__.py").exists()


def test_ingestor_state_dir_is_a_persistent_volume(
    k8s_docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its read-only root must not hold the delivery state: a restart would forget it."""
    deployment = next(
        d for d in k8s_docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "ingestor"
    )
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e.get("value") for e in container["env"]}
    state_dir = Path(env["SPENDSTREAM_INGESTOR_STATE_DIR"])
    monkeypatch.setenv("SPENDSTREAM_INGESTOR_STATE_DIR", str(state_dir))
    assert IngestorSettings().ingestor_state_dir == state_dir  # the name the service reads
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume_name = next(
        name for path, name in mounts.items() if state_dir.is_relative_to(Path(path))
    )
    volume = next(v for v in pod["volumes"] if v["name"] == volume_name)
    claim = volume["persistentVolumeClaim"]["claimName"]
    claims = {d["metadata"]["name"] for d in k8s_docs if d["kind"] == "PersistentVolumeClaim"}
    assert claim in claims
