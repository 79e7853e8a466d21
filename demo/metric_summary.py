"""Injected metric anomalies against the metric incidents that reached subscribers.

The demo's acceptance (issue 13) is about what a subscriber receives: at most 3x
as many metric incidents as were injected, every injected one among them. A
subscriber receives an incident's alerts once the fleet budget promoted it
(``notify=true``), so the alert history (``/v1/alerts``) is the record. The
count is final only once the anomaly service's metric loop has read every
datapoint and the gateway every anomaly event: :func:`wait_for_metric_path`
waits (with a deadline) for both consumer groups to reach the topics' ends.

Matching is the eval's (``evals.metric_eval``): same instance, incident window
overlapping the anomaly's [start, end + 1 h].
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.topics import ANOMALIES, CLOUDWATCH_DATAPOINTS, Topic

# An anomaly's end is itself a change its detectors see a few points later.
MATCH_GRACE = timedelta(hours=1)
KAFKA_ENV = "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS"
PREFIX_ENV = "SPENDSTREAM_TOPIC_PREFIX"
POLL_S = 2.0


@dataclass(frozen=True)
class MetricSummary:
    """What reached subscribers, against what was injected."""

    injected: list[dict[str, Any]]
    notified: list[dict[str, Any]]  # one per incident: the detail of its first alert
    found: list[str]  # injected ids among the notified incidents
    caught_up: bool

    def line(self) -> str:
        """One line for the demo's output."""
        missed = [a["id"] for a in self.injected if a["id"] not in self.found]
        ratio = len(self.notified) / len(self.injected) if self.injected else 0.0
        return (
            f"metric incidents: {len(self.injected)} injected, {len(self.notified)} reached "
            f"subscribers ({ratio:.1f}x; target <= 3x), {len(self.found)} of the injected among "
            f"them"
            + (f" (missed: {', '.join(missed)})" if missed else "")
            + ("" if self.caught_up else "; the metric path had not read everything yet")
        )


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def matches(incident: dict[str, Any], anomaly: dict[str, Any]) -> bool:
    """Same instance, and the windows overlap (the anomaly's end + ``MATCH_GRACE``)."""
    return (
        incident.get("resource_id") == anomaly["resource_id"]
        and _at(incident["window_start"]) <= _at(anomaly["end"]) + MATCH_GRACE
        and _at(incident["window_end"]) >= _at(anomaly["start"])
    )


def summarise(
    ground_truth: dict[str, Any], alerts: list[dict[str, Any]], caught_up: bool = True
) -> MetricSummary:
    """Group metric alerts by incident (latest window) and match them with the truth."""
    injected = [a for a in ground_truth.get("anomalies", []) if a.get("kind") == "metric"]
    incidents: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        detail = alert.get("detail") or {}
        if alert.get("source") != "anomaly" or detail.get("kind") != "metric":
            continue
        seen = incidents.setdefault(alert["alert_id"], dict(detail))
        if detail.get("window_end", "") > seen.get("window_end", ""):
            seen["window_end"] = detail["window_end"]
    notified = list(incidents.values())
    found = [a["id"] for a in injected if any(matches(i, a) for i in notified)]
    return MetricSummary(injected, notified, found, caught_up)


def alert_history(get: Callable[..., Any]) -> list[dict[str, Any]]:
    """Every anomaly alert of the tenant, oldest first (``get`` = ``GatewayClient.get``)."""
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = get("/v1/alerts", source="anomaly", after=after, limit=500)
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        after = int(page["next_cursor"])


async def _lag(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """Records ``group`` has yet to commit on ``topic`` (OffsetFetch without joining)."""
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        ends = await reader.end_offsets(tps)
        committed = {tp: await reader.committed(tp) for tp in tps}
    finally:
        await reader.stop()
    return sum(max(0, ends[tp] - (committed[tp] or 0)) for tp in tps)


def metric_path_lag(env: dict[str, str], metric_group: str, gateway_group: str) -> int:
    """Datapoints the metric loop has not committed plus anomaly events the gateway has not."""
    prefix = env.get(PREFIX_ENV, "")

    async def one(group: str, topic: Topic) -> int:
        name = topic.full_name(prefix)
        return await _lag(env[KAFKA_ENV], f"{prefix}{group}", name, topic.partitions)

    async def both() -> int:
        return await one(metric_group, CLOUDWATCH_DATAPOINTS) + await one(gateway_group, ANOMALIES)

    return asyncio.run(both())


def wait_for_metric_path(lag: Callable[[], int], timeout_s: float) -> bool:
    """Poll ``lag`` until it reads 0 or the deadline passes; True when it reached 0."""
    deadline = time.monotonic() + timeout_s
    while True:
        if lag() == 0:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
