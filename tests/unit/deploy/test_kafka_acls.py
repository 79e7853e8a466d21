"""The manifests' Kafka ACLs are exactly what the topic registry implies (issue 12 #21).

``shared/acls.py`` derives each service principal's topic ACLs from
``shared/topics.py`` (owner, consumers); consumer groups come from each
service's settings. The Strimzi KafkaUsers (Kubernetes) and ``acls.tsv``
(docker-compose) must both equal that derivation, so adding a topic or a reader
without updating the deployments fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.anomaly.topics import COST_STATE, METRIC_STATE
from services.gateway.consumer import CONSUMED_TOPICS
from services.rightsizing.store import CHANGELOG
from shared.acls import NAMESPACE, PRIVATE_PREFIXES, SERVICES, topic_acls, username
from shared.topics import (
    ALL_TOPICS,
    ANOMALIES,
    BUDGET_ALERTS,
    BUDGETS,
    COSTS_DAILY,
    COSTS_RESTATEMENTS,
    CUR_SHARES,
)
from tests.unit.deploy.test_manifests import CONSUMER_GROUPS, SCALED_GROUPS

# What services/forecast/app.py, budget_feed.py and incident_feed.py consume.
FORECAST_READS = (COSTS_DAILY, BUDGETS, BUDGET_ALERTS, ANOMALIES, COSTS_RESTATEMENTS)
ROOT = Path(__file__).resolve().parents[3]
USERS = ROOT / "deploy" / "k8s" / "base" / "kafka" / "users.yaml"
COMPOSE_ACLS = ROOT / "deploy" / "compose" / "kafka" / "acls.tsv"
SETUP = ROOT / "deploy" / "compose" / "kafka" / "setup.sh"
# (principal, resource type, pattern, name, operation)
Rule = tuple[str, str, str, str, str]


def expected() -> set[Rule]:
    """Every allow rule the deployments must declare, and no other."""
    rules: set[Rule] = set()
    for service in SERVICES:
        for acl in topic_acls(service):
            rules.add((username(service), "topic", acl.pattern, acl.name, acl.operation))
        for group in CONSUMER_GROUPS.get(service, set()):
            rules.add((username(service), "group", "literal", group, "Read"))
    rules |= {
        ("spendstream-topics", "topic", "prefixed", NAMESPACE, "Create"),
        ("spendstream-topics", "topic", "prefixed", NAMESPACE, "Describe"),
        ("spendstream-keda", "topic", "prefixed", NAMESPACE, "Describe"),
    }
    for groups in SCALED_GROUPS.values():
        rules |= {("spendstream-keda", "group", "literal", g, "Describe") for g in groups}
    return rules


def _users() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(USERS.read_text()) if d]


def k8s_rules() -> set[Rule]:
    rules: set[Rule] = set()
    for user in _users():
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            pattern = {"literal": "literal", "prefix": "prefixed"}[resource["patternType"]]
            for op in acl["operations"]:
                rules.add(
                    (user["metadata"]["name"], resource["type"], pattern, resource["name"], op)
                )
    return rules


def compose_rules() -> set[Rule]:
    lines = [line for line in COMPOSE_ACLS.read_text().splitlines() if not line.startswith("#")]
    rules = {tuple(line.split("\t")) for line in lines if line}
    assert all(len(r) == 5 for r in rules), "acls.tsv rows are 5 tab-separated fields"
    return rules  # type: ignore[return-value]  # checked to be 5-tuples above


@pytest.mark.parametrize("actual", [k8s_rules, compose_rules], ids=["k8s", "compose"])
def test_manifest_acls_equal_the_registry_derivation(actual: Any) -> None:
    got, want = actual(), expected()
    assert sorted(got - want) == [], "ACLs granted that the registry does not imply"
    assert sorted(want - got) == [], "ACLs the registry implies that are missing"


def test_every_service_principal_authenticates_with_scram() -> None:
    users = {u["metadata"]["name"]: u for u in _users()}
    assert set(users) == {username(s) for s in SERVICES} | {
        "spendstream-topics",
        "spendstream-keda",
    }
    for user in users.values():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert user["spec"]["authorization"]["type"] == "simple"
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == "spendstream"


def test_compose_creates_a_user_for_every_principal_it_grants() -> None:
    loop = next(line for line in SETUP.read_text().splitlines() if line.startswith("for service"))
    created = {f"spendstream-{s}" for s in loop.split(" in ")[1].split(";")[0].split()}
    granted = {r[0] for r in compose_rules()} - {"spendstream-keda"}  # KEDA: Kubernetes only
    assert granted == created


def test_no_service_may_read_or_write_what_it_does_not_use() -> None:
    """Spot checks of the derivation against the code that reads and writes."""
    gateway = {a.name for a in topic_acls("gateway") if a.operation == "Read"}
    assert {t.name for t in CONSUMED_TOPICS} == gateway
    ingestor = {(a.name, a.operation) for a in topic_acls("ingestor") if a.operation != "Describe"}
    reads = {name for name, op in ingestor if op == "Read"}
    assert reads == {CUR_SHARES.name}  # it reads only its own shares' delivered sets
    forecast = {a.name for a in topic_acls("forecast") if a.operation == "Read"}
    assert forecast == {t.name for t in FORECAST_READS}  # incidents: anomalies, restatements
    assert not any(a.operation == "Write" and a.name == "spendstream.budgets.v1"
                   for s in SERVICES if s != "gateway" for a in topic_acls(s))  # fmt: skip


def test_private_changelogs_sit_under_their_service_prefix() -> None:
    assert COST_STATE.name.startswith(PRIVATE_PREFIXES["anomaly"])
    assert METRIC_STATE.name.startswith(PRIVATE_PREFIXES["anomaly"])
    assert CHANGELOG.name.startswith(PRIVATE_PREFIXES["rightsizing"])
    registry = {t.name for t in ALL_TOPICS}
    for prefix in PRIVATE_PREFIXES.values():
        assert not any(name.startswith(prefix) for name in registry)
