"""Kafka ACLs per service principal, derived from the topic registry.

Each service authenticates as its own SCRAM user (named like the service) and
may write only the topics it owns (plus the dead-letter topics of the topics it
reads, where it parks rejected records) and read only the topics it consumes.
Every principal may *describe* every ``spendstream.`` topic, because each
service checks at start-up that the registry's topics exist (``ensure_topics``);
describing shows names and partition counts, never records. The deployment manifests declare
these ACLs; a unit test keeps them equal to what this module derives.

>>> sorted(a.operation for a in topic_acls("forecast") if a.name == "spendstream.budgets.v1")
['Read']
>>> sorted(a.name for a in topic_acls("forecast") if a.operation == "Read")[:2]
['spendstream.anomalies.v1', 'spendstream.budget-alerts.v1']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.topics import ALL_TOPICS, DLQ_SUFFIX, TOPICS, Topic

Operation = Literal["Read", "Write", "Describe", "Create"]
SERVICES = ("ingestor", "anomaly", "rightsizing", "forecast", "gateway")
# Every topic name starts with this (topics.py, changelogs); describing it is harmless.
NAMESPACE = "spendstream."
# Services that keep private changelog topics create them under this prefix
# (shared.changelog); nobody else reads or writes there.
PRIVATE_PREFIXES = {
    "anomaly": "spendstream.anomaly.",
    "rightsizing": "spendstream.rightsizing.",
}
_PRIVATE_OPERATIONS: tuple[Operation, ...] = ("Read", "Write", "Describe", "Create")


def username(service: str) -> str:
    """The SCRAM user (and ACL principal ``User:<name>``) a service authenticates as.

    >>> username("gateway")
    'spendstream-gateway'
    """
    return f"spendstream-{service}"


@dataclass(frozen=True, order=True)
class Acl:
    """One allow rule: ``principal`` may ``operation`` on the topic ``name`` (or prefix)."""

    principal: str
    name: str
    operation: Operation
    pattern: Literal["literal", "prefixed"] = "literal"


def writers(topic: Topic) -> set[str]:
    """Who produces to ``topic``: its owner; for a dead-letter topic, the source's readers.

    >>> from shared.topics import CUR_LINE_ITEMS
    >>> sorted(writers(CUR_LINE_ITEMS.dlq))  # the ingestor parks CUR rows it refused
    ['anomaly', 'ingestor', 'rightsizing']
    """
    if topic.name.endswith(DLQ_SUFFIX):
        source = next(t for t in TOPICS if t.dlq.name == topic.name)
        return set(source.consumers) | ({source.owner} if source.owner_dead_letters else set())
    return {topic.owner}


def topic_acls(service: str) -> set[Acl]:
    """The topic ACLs ``service`` needs, and no more."""
    acls: set[Acl] = set()
    acls.add(Acl(service, NAMESPACE, "Describe", "prefixed"))
    for topic in ALL_TOPICS:
        if service in writers(topic):
            acls.add(Acl(service, topic.name, "Write"))
        if service in topic.consumers:
            acls.add(Acl(service, topic.name, "Read"))
    prefix = PRIVATE_PREFIXES.get(service)
    if prefix is not None:
        for operation in _PRIVATE_OPERATIONS:
            acls.add(Acl(service, prefix, operation, "prefixed"))
    return acls
