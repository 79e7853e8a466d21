"""The topic registry: every topic, its key, value models, partitions, policy and owner.

Names are versioned; a breaking change to a topic's values means a new topic.
``ensure_topics`` creates whatever is missing and leaves existing topics alone,
so every service and test can call it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared import events as ev
from shared.settings import SpendstreamSettings

# Six partitions: enough for a handful of replicas per consumer group on one
# machine, cheap on an embedded broker; raise it for a real fleet (the
# partition count bounds the useful replicas of a consumer service).
DEFAULT_PARTITIONS = 6
DLQ_SUFFIX = ".dlq"
# Dead letters are shown to operators by the gateway; their writers are the source's consumers.
DLQ_READER = "gateway"


@dataclass(frozen=True)
class Topic:
    """One registered topic."""

    name: str
    key: str
    values: tuple[type[ev.Event], ...]
    owner: str
    description: str
    compacted: bool = False
    partitions: int = DEFAULT_PARTITIONS
    #: The services that read this topic (Kafka ACLs are derived from owner and consumers).
    consumers: tuple[str, ...] = ()
    #: The owner also dead-letters here (input it refused before producing, e.g. CUR rows).
    owner_dead_letters: bool = False

    def full_name(self, prefix: str = "") -> str:
        """The name on the broker, with the deployment's prefix."""
        return f"{prefix}{self.name}"

    @property
    def dlq(self) -> Topic:
        """The dead-letter topic for records rejected from this one."""
        return Topic(
            name=self.name + DLQ_SUFFIX,
            key=self.key,
            values=(ev.DeadLetter,),
            owner="any consumer",
            description=f"Records rejected from {self.name}, with the reason.",
            partitions=1,
            consumers=(DLQ_READER,),
        )


CUR_LINE_ITEMS = Topic(
    "spendstream.cur.line-items.v1",
    "account id",
    (ev.CostLineItem, ev.DeliveryStarted, ev.DeliveryCompleted),
    "ingestor",
    "Normalised CUR/FOCUS line items bracketed by delivery markers.",
    # rightsizing learns each instance's effective hourly cost (RI / Savings Plans).
    consumers=("anomaly", "rightsizing"),
    owner_dead_letters=True,
)
# Ingestor replicas share each CUR delivery by line-items partition; this group
# topic (one partition per line-items partition) assigns the shares and holds,
# per share, which deliveries are done. Only the ingestor reads or writes it.
CUR_SHARES = Topic(
    "spendstream.ingestor.cur-shares.v1",
    "delivery key (partition: the line-items partition of the share)",
    (ev.CurShareDone,),
    "ingestor",
    "Which CUR deliveries each ingestor share (line-items partition) has completed.",
    compacted=True,
    partitions=CUR_LINE_ITEMS.partitions,
    consumers=("ingestor",),
)
CLOUDWATCH_DATAPOINTS = Topic(
    "spendstream.cloudwatch.datapoints.v1",
    "resource id",
    (ev.MetricDatapoint,),
    "ingestor",
    "One CloudWatch datapoint per record.",
    consumers=("anomaly", "rightsizing"),
)
CLOUDWATCH_USAGE = Topic(
    "spendstream.cloudwatch.usage.v1",
    "account id",
    (ev.MetricDatapoint,),
    "ingestor",
    "One CloudWatch usage-metric datapoint (shared.usage_metrics) per record, with its "
    "dimensions; kept off the datapoints topic so unpriced usage never reaches the EC2 path.",
    # Keyed by account and co-partitioned with the account's unit rates.
    partitions=CUR_LINE_ITEMS.partitions,
    consumers=("anomaly",),
)
INVENTORY_EC2 = Topic(
    "spendstream.inventory.ec2.v1",
    "instance id",
    (ev.Ec2Instance,),
    "ingestor",
    "Current state of each EC2 instance.",
    compacted=True,
    consumers=("rightsizing", "anomaly"),
)
COSTS_DAILY = Topic(
    "spendstream.costs.daily.v1",
    "series id@period start (partitioned by series id)",
    (ev.CostPoint,),
    "anomaly",
    "Daily and hourly cost per series; later deliveries supersede earlier ones.",
    compacted=True,
    consumers=("forecast", "gateway"),
)
COSTS_RESTATEMENTS = Topic(
    "spendstream.costs.restatements.v1",
    "series id",
    (ev.CostRestated,),
    "anomaly",
    "A later delivery changed a past period beyond the threshold.",
    # The gateway stores each notice and alerts subscribers (late credits included);
    # forecast imputes restated days before fitting (services/forecast/engine/incidents.py).
    consumers=("gateway", "forecast"),
)
ANOMALIES = Topic(
    "spendstream.anomalies.v1",
    "series id",
    (ev.AnomalyEvent,),
    "anomaly",
    "Anomaly lifecycle events (open / update / resolve).",
    # forecast imputes open and recent cost-incident days before fitting.
    consumers=("gateway", "forecast"),
)
UNIT_RATES = Topic(
    "spendstream.unit-rates.v1",
    "account id",
    (ev.AccountUnitRates,),
    "anomaly",
    "Each account's effective unit rate per usage type and region, from its CUR.",
    compacted=True,
    partitions=CLOUDWATCH_USAGE.partitions,
    consumers=("anomaly",),
)
USAGE_INCIDENTS = Topic(
    "spendstream.usage-incidents.v1",
    "incident id (partition: account id)",
    (ev.AnomalyEvent,),
    "anomaly",
    "The latest lifecycle event of each priced usage-metric incident, for the cost loop "
    "to join the CUR's confirmation to it.",
    compacted=True,
    partitions=CUR_LINE_ITEMS.partitions,
    consumers=("anomaly",),
)
INSTANCE_RATES = Topic(
    "spendstream.instance-rates.v1",
    "instance id",
    (ev.InstanceRate,),
    "rightsizing",
    "Each instance's effective hourly cost from completed CUR deliveries, re-keyed by "
    "instance so it meets the instance's utilisation state.",
    compacted=True,
    consumers=("rightsizing",),
)
RECOMMENDATIONS = Topic(
    "spendstream.recommendations.v1",
    "resource id",
    (ev.Recommendation,),
    "rightsizing",
    "Current right-sizing recommendation per resource.",
    compacted=True,
    consumers=("gateway",),
)
COMMITMENTS = Topic(
    "spendstream.commitments.v1",
    "account id",
    (ev.CommitmentReport,),
    "rightsizing",
    "Each account's Savings Plan and RI coverage, utilisation and purchase recommendations "
    "from its newest completed CUR delivery.",
    compacted=True,
    consumers=("gateway",),
)
COMMITMENT_ALERTS = Topic(
    "spendstream.commitment-alerts.v1",
    "account id",
    (ev.CommitmentAlert,),
    "rightsizing",
    "A held commitment used below the threshold, or ending within the notice period.",
    consumers=("gateway",),
)
IMPLEMENTATIONS = Topic(
    "spendstream.implementations.v1",
    "instance id",
    (ev.Implementation,),
    "rightsizing",
    "Recommendations carried out (inventory showed the change) and the savings the CUR shows.",
    compacted=True,
    consumers=("gateway",),
)
FORECASTS = Topic(
    "spendstream.forecasts.v1",
    "series id",
    (ev.Forecast,),
    "forecast",
    "Current forecast per series with intervals and backtest scores.",
    compacted=True,
    consumers=("gateway",),
)
BUDGETS = Topic(
    "spendstream.budgets.v1",
    "budget id",
    (ev.Budget,),
    "gateway",
    "Monthly budgets; a deleted budget is a tombstone-like event.",
    compacted=True,
    consumers=("forecast",),
)
BUDGET_ALERTS = Topic(
    "spendstream.budget-alerts.v1",
    "series id",
    (ev.BudgetAlert,),
    "forecast",
    "Budget breach / outside-interval lifecycle alerts.",
    # forecast replays its own alerts at start-up to continue open incidents.
    consumers=("gateway", "forecast"),
)
FEEDBACK = Topic(
    "spendstream.feedback.v1",
    "rule id (Feedback.rule_id)",
    (ev.Feedback,),
    "gateway",
    "A person's verdict on an anomaly, or a planned window; the latest record per rule wins.",
    # Compacted per rule: the anomaly service rebuilds its rules from the whole topic
    # on start, and a later record for the same rule (a changed verdict) replaces it.
    compacted=True,
    consumers=("anomaly",),
)

TOPICS: tuple[Topic, ...] = (
    CUR_LINE_ITEMS,
    CUR_SHARES,
    CLOUDWATCH_DATAPOINTS,
    CLOUDWATCH_USAGE,
    INVENTORY_EC2,
    INSTANCE_RATES,
    COSTS_DAILY,
    COSTS_RESTATEMENTS,
    ANOMALIES,
    # After ANOMALIES: a lookup by value type finds the public topic of AnomalyEvent first.
    UNIT_RATES,
    USAGE_INCIDENTS,
    RECOMMENDATIONS,
    COMMITMENTS,
    COMMITMENT_ALERTS,
    IMPLEMENTATIONS,
    FORECASTS,
    BUDGETS,
    BUDGET_ALERTS,
    FEEDBACK,
)
ALL_TOPICS: tuple[Topic, ...] = TOPICS + tuple(t.dlq for t in TOPICS)


def by_name(name: str, prefix: str = "") -> Topic:
    """Look a topic up by its (possibly prefixed) broker name."""
    for topic in ALL_TOPICS:
        if topic.full_name(prefix) == name:
            return topic
    raise KeyError(f"{name!r} is not a registered topic")


async def ensure_topics(
    settings: SpendstreamSettings,
    topics: tuple[Topic, ...] = ALL_TOPICS,
    replication_factor: int | None = None,
) -> list[str]:
    """Create the registered topics that do not exist yet; return the names created."""
    wanted = [(t.full_name(settings.topic_prefix), t.partitions, t.compacted) for t in topics]
    return await _create_missing(settings, wanted, replication_factor)


async def ensure_compacted(settings: SpendstreamSettings, name: str, partitions: int) -> bool:
    """Create a compacted topic (a service's private changelog) if missing; True if created."""
    return bool(await _create_missing(settings, [(name, partitions, True)]))


async def _create_missing(
    settings: SpendstreamSettings,
    wanted: list[tuple[str, int, bool]],
    replication_factor: int | None = None,
) -> list[str]:
    """Create each (name, partitions, compacted) topic that is missing; racing creators are fine."""
    rf = replication_factor or settings.topic_replication_factor
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [w for w in wanted if w[0] not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name,
                    partitions,
                    rf,
                    topic_configs={"cleanup.policy": "compact"} if compacted else {},
                )
                for name, partitions, compacted in missing
            ]
        )
        created: list[str] = []
        for name, code, *rest in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:  # a racing replica made it: fine
                message = rest[0] if rest else ""
                raise RuntimeError(f"could not create topic {name}: error {code} {message}")
        return created
    finally:
        await admin.close()
