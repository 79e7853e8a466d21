"""Deployments speak TLS to Kafka with their own secrets, and egress is denied by default.

No Docker engine or cluster here: the compose file, the broker's properties
and the Kubernetes manifests are read as data, and every service's resulting
environment is fed to the real settings class, which refuses plaintext to a
remote broker (issue 12 #21).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.acls import SERVICES, username
from shared.settings import SpendstreamSettings
from tests.unit.deploy.test_manifests import K8S_BASE, _kustomize

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
KAFKA_PROPS = dict(
    line.split("=", 1)
    for line in (ROOT / "deploy/compose/kafka/server.properties").read_text().splitlines()
    if line and not line.startswith("#")
)
# A compose value that must come from the operator: ${NAME:?message}, no default.
REQUIRED = re.compile(r"^\$\{[A-Z_]+:\?[^}]+\}$")
PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}


@pytest.fixture(scope="module")
def k8s() -> list[dict[str, Any]]:
    return _kustomize(K8S_BASE)


def _workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pod template of each Deployment and Job, by its app.kubernetes.io/name label."""
    pods = {}
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            template = doc["spec"]["template"]
            pods[template["metadata"]["labels"]["app.kubernetes.io/name"]] = template["spec"]
    return pods


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_broker_has_no_plaintext_listener_and_denies_by_default() -> None:
    protocols = dict(p.split(":") for p in KAFKA_PROPS["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) <= {"SASL_SSL", "SSL"}
    listeners = dict(
        (name, address)
        for name, address in (x.split("://") for x in KAFKA_PROPS["listeners"].split(","))
    )
    assert set(listeners) <= set(protocols)
    assert listeners["CONTROLLER"].startswith("127.0.0.1:")  # never reachable from outside
    assert KAFKA_PROPS["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert KAFKA_PROPS["allow.everyone.if.no.acl.found"] == "false"
    assert "password" not in " ".join(KAFKA_PROPS)  # secrets are added at start from env
    assert "ports" not in COMPOSE["services"]["kafka"]
    assert "ports" not in COMPOSE["services"]["postgres"]


@pytest.mark.parametrize("name", [*SERVICES, "topics"])
def test_compose_services_use_sasl_ssl_with_their_own_required_secret(name: str) -> None:
    env = COMPOSE["services"][name]["environment"]
    principal = "spendstream-topics" if name == "topics" else username(name)
    assert env["SPENDSTREAM_KAFKA_SASL_USERNAME"] == principal
    assert REQUIRED.match(env["SPENDSTREAM_KAFKA_SASL_PASSWORD"]), "password from the operator"
    assert env["SPENDSTREAM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    mounts = COMPOSE["services"][name]["volumes"]
    assert any(m.endswith(f":{env['SPENDSTREAM_KAFKA_SSL_CAFILE']}:ro") for m in mounts)
    values = {k.removeprefix("SPENDSTREAM_").lower(): v for k, v in env.items()}
    values["kafka_sasl_password"] = "from-the-operator"
    values.pop("kafka_ssl_cafile")  # a path inside the container
    settings = SpendstreamSettings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings option
    assert settings.kafka_allow_plaintext is False


def test_compose_gateway_uses_its_least_privilege_role() -> None:
    dsn = COMPOSE["services"]["gateway"]["environment"]["SPENDSTREAM_POSTGRES_DSN"]
    assert dsn.startswith("postgresql://spendstream_gateway:${GATEWAY_DB_PASSWORD:?")
    postgres = COMPOSE["services"]["postgres"]
    assert any("gateway-role.sql" in v for v in postgres["volumes"])
    internal = {n for n, s in COMPOSE["services"].items() if s.get("networks") == ["internal"]}
    assert {"kafka", "postgres", "anomaly", "rightsizing", "forecast"} <= internal
    assert COMPOSE["networks"]["internal"]["internal"] is True


def test_k8s_pods_speak_sasl_ssl_with_their_own_principal(k8s: list[dict[str, Any]]) -> None:
    config = next(
        d for d in k8s if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "spendstream-config"
    )
    settings = SpendstreamSettings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings option
        **{k.removeprefix("SPENDSTREAM_").lower(): v for k, v in config["data"].items()
           if k != "SPENDSTREAM_KAFKA_SSL_CAFILE"},
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )  # fmt: skip
    assert settings.kafka_security_protocol == "SASL_SSL"
    pods = _workloads(k8s)
    for name in [*SERVICES, "spendstream-topics"]:
        container = pods[name]["containers"][0]
        env = _env(container)
        principal = name if name.startswith("spendstream-") else username(name)
        assert env["SPENDSTREAM_KAFKA_SASL_USERNAME"] == principal
        assert env["SPENDSTREAM_KAFKA_SASL_PASSWORD"]["secretKeyRef"]["name"] == principal
        assert not any("secretRef" in e for e in container.get("envFrom", []))
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert str(Path(config["data"]["SPENDSTREAM_KAFKA_SSL_CAFILE"]).parent) in mounts
    for scaled in (d for d in k8s if d["kind"] == "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["metadata"]["bootstrapServers"].endswith(":9093")
            assert trigger["authenticationRef"]["name"] == "spendstream-kafka"


def _policies(k8s: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in k8s if d["kind"] == "NetworkPolicy"]


def _selects(policy: dict[str, Any], app: str) -> bool:
    selector = policy["spec"]["podSelector"]
    if not selector:
        return True
    return any(app in e["values"] for e in selector.get("matchExpressions", []))


def _allowed_ports(k8s: list[dict[str, Any]], app: str) -> set[int]:
    ports = set()
    for policy in _policies(k8s):
        if _selects(policy, app):
            for rule in policy["spec"].get("egress", []):
                assert rule.get("ports"), f"{policy['metadata']['name']}: egress without ports"
                ports |= {p["port"] for p in rule["ports"]}
    return ports


def test_egress_is_denied_by_default_and_opened_per_workload(k8s: list[dict[str, Any]]) -> None:
    deny = next(p for p in _policies(k8s) if p["metadata"]["name"] == "default-deny-egress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Egress"]}
    needs = {
        "ingestor": {53, 9093, 443},  # AWS APIs
        "ingestor-cur": {53, 9093, 443},  # S3
        "anomaly": {53, 9093},
        "rightsizing": {53, 9093},
        "forecast": {53, 9093},
        "gateway": {53, 9093, 5432, 443},  # webhooks, SNS
        "spendstream-topics": {53, 9093},
        "gateway-db-role": {53, 5432},
    }
    assert set(needs) == set(_workloads(k8s))
    for app, ports in needs.items():
        assert _allowed_ports(k8s, app) == ports, app


def test_public_https_excludes_private_and_metadata_ranges(k8s: list[dict[str, Any]]) -> None:
    https = next(p for p in _policies(k8s) if p["metadata"]["name"] == "allow-public-https")
    (rule,) = https["spec"]["egress"]
    (block,) = rule["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert set(block["ipBlock"]["except"]) >= PRIVATE_RANGES
