"""Pure planning of CloudWatch ``GetMetricData`` calls: streams, windows, watermarks.

A *stream* is one (account, region, instance, metric, statistic). Its watermark
is the end of the last fully-closed period already published. A poll asks, for
each stream, for ``[watermark, closed_end)`` where ``closed_end`` is ``now - lag``
floored to the period, and publishes only datapoints inside that half-open
window; the watermark then moves to ``closed_end``. Consecutive polls therefore
cover time with no gap and no overlap, whatever happens between them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# GetMetricData accepts at most 500 queries per call (AWS quota).
MAX_QUERIES_PER_CALL = 500


@dataclass(frozen=True)
class MetricSpec:
    """One metric to read per instance, with its statistics."""

    namespace: str
    metric: str
    stats: tuple[str, ...]
    unit: str | None


# CPU max catches saturation that averages hide; network is read as Sum bytes
# per period (throughput); memory comes only from the CloudWatch agent.
EC2_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("AWS/EC2", "CPUUtilization", ("Average", "Maximum"), "Percent"),
    MetricSpec("AWS/EC2", "NetworkIn", ("Sum",), "Bytes"),
    MetricSpec("AWS/EC2", "NetworkOut", ("Sum",), "Bytes"),
)
AGENT_MEMORY = MetricSpec("CWAgent", "mem_used_percent", ("Average", "Maximum"), "Percent")


@dataclass(frozen=True)
class Stream:
    """One metric statistic of one instance."""

    account_id: str
    region: str
    instance_id: str
    spec: MetricSpec
    stat: str
    dimensions: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        """The watermark key."""
        return "/".join(
            (self.account_id, self.region, self.instance_id, self.spec.metric, self.stat)
        )


def streams_for(
    account_id: str,
    region: str,
    instance_id: str,
    agent_dimensions: tuple[tuple[str, str], ...] | None = None,
) -> list[Stream]:
    """EC2 streams for an instance, plus memory when the agent publishes it."""
    ec2_dims = (("InstanceId", instance_id),)
    out = [
        Stream(account_id, region, instance_id, spec, stat, ec2_dims)
        for spec in EC2_METRICS
        for stat in spec.stats
    ]
    if agent_dimensions is not None:
        out += [
            Stream(account_id, region, instance_id, AGENT_MEMORY, stat, agent_dimensions)
            for stat in AGENT_MEMORY.stats
        ]
    return out


def closed_end(now: datetime, lag: timedelta, period_s: int) -> datetime:
    """End of the last period that is ``lag`` old, so its datapoints are final.

    >>> closed_end(datetime(2024, 1, 1, 12, 17, tzinfo=UTC), timedelta(minutes=10), 300)
    datetime.datetime(2024, 1, 1, 12, 5, tzinfo=datetime.timezone.utc)
    """
    epoch = int((now - lag).timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_s, UTC)


def floor_period(when: datetime, period_s: int) -> datetime:
    """``when`` floored to a period boundary (UTC)."""
    epoch = int(when.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_s, UTC)


def query(index: int, stream: Stream, period_s: int) -> dict[str, Any]:
    """The ``MetricDataQueries`` entry for a stream; ids must start lower-case."""
    return {
        "Id": f"q{index}",
        "MetricStat": {
            "Metric": {
                "Namespace": stream.spec.namespace,
                "MetricName": stream.spec.metric,
                "Dimensions": [{"Name": n, "Value": v} for n, v in stream.dimensions],
            },
            "Period": period_s,
            "Stat": stream.stat,
        },
        "ReturnData": True,
    }


@dataclass(frozen=True)
class Call:
    """One GetMetricData call: up to 500 streams sharing a time range."""

    streams: tuple[Stream, ...]
    starts: tuple[datetime, ...]
    end: datetime

    @property
    def start(self) -> datetime:
        """The earliest watermark among the streams."""
        return min(self.starts)


def plan_calls(
    streams: Sequence[Stream], starts: Sequence[datetime], end: datetime
) -> Iterator[Call]:
    """Batch streams whose window is non-empty into calls of at most 500 queries."""
    due = [(s, st) for s, st in zip(streams, starts, strict=True) if st < end]
    due.sort(key=lambda pair: pair[1])  # similar starts share a call: less wasted range
    for i in range(0, len(due), MAX_QUERIES_PER_CALL):
        chunk = due[i : i + MAX_QUERIES_PER_CALL]
        yield Call(tuple(s for s, _ in chunk), tuple(st for _, st in chunk), end)


def in_window(timestamp: datetime, start: datetime, end: datetime) -> bool:
    """Half-open window membership: the watermark's own period was already published."""
    ts = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
    return start <= ts < end
