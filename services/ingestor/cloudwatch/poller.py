"""Read EC2 metrics with ``GetMetricData`` and publish one datapoint per record.

Each poll: discover instances per account/region, plan calls (<= 500 queries,
``NextToken`` pages), publish datapoints inside each stream's window, await
every ack, and only then advance the watermarks. A crash before the watermark
write re-publishes the same datapoints (same deterministic ids) next time:
duplicates are possible, gaps are not. Throttling is retried with exponential
backoff and full jitter (tenacity).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential
from tqdm import tqdm

from services.ingestor.accounts import AccountConfig
from services.ingestor.aws import AwsClients
from services.ingestor.cloudwatch import plan
from services.ingestor.cloudwatch.usage import USAGE_NAMESPACES, usage_streams
from services.ingestor.state import StateStore
from shared.events import MetricDatapoint, stable_id, utcnow
from shared.kafka import EventProducer
from shared.logging import get_logger
from shared.topics import CLOUDWATCH_DATAPOINTS, CLOUDWATCH_USAGE

log = get_logger(__name__)

THROTTLE_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded"})
# Backoff: 0.5 s doubling up to 30 s, with full jitter so many pollers desynchronise;
# 8 attempts ride out a minute of throttling before the poll gives up (and retries next poll).
BACKOFF_MULTIPLIER_S = 0.5
BACKOFF_MAX_S = 30.0
BACKOFF_ATTEMPTS = 8
# Backfill walks history one day at a time: each step is a few thousand points
# per stream-batch and its watermark advance makes the backfill resumable.
BACKFILL_STEP = timedelta(days=1)


def _throttled(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and exc.response["Error"]["Code"] in THROTTLE_CODES


@retry(
    retry=retry_if_exception(_throttled),
    wait=wait_random_exponential(multiplier=BACKOFF_MULTIPLIER_S, max=BACKOFF_MAX_S),
    stop=stop_after_attempt(BACKOFF_ATTEMPTS),
    reraise=True,
)
def _get_page(client: Any, **kwargs: Any) -> dict[str, Any]:
    return client.get_metric_data(**kwargs)  # type: ignore[no-any-return]  # boto3 dict


def fetch(client: Any, call: plan.Call, period_s: int) -> dict[int, list[tuple[datetime, float]]]:
    """Every datapoint of one call, following ``NextToken``; keyed by stream index."""
    queries = [plan.query(i, s, period_s) for i, s in enumerate(call.streams)]
    out: dict[int, list[tuple[datetime, float]]] = {i: [] for i in range(len(queries))}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": call.start,
            "EndTime": call.end,
            "ScanBy": "TimestampAscending",
        }
        if token:
            kwargs["NextToken"] = token
        page = _get_page(client, **kwargs)
        for result in page.get("MetricDataResults", []):
            index = int(result["Id"][1:])
            out[index].extend(
                zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
            )
        token = page.get("NextToken")
        if not token:
            return out


def discover(
    ec2: Any, cloudwatch: Any, account: str, region: str, usage: bool = False
) -> list[plan.Stream]:
    """Streams for every instance, its agent memory, then (``usage``) the usage metrics."""
    agent: dict[str, tuple[tuple[str, str], ...]] = {}
    pages = cloudwatch.get_paginator("list_metrics").paginate(
        Namespace=plan.AGENT_MEMORY.namespace, MetricName=plan.AGENT_MEMORY.metric
    )
    for page in pages:
        for metric in page.get("Metrics", []):
            dims = tuple((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            instance = dict(dims).get("InstanceId")
            if instance:
                agent[instance] = dims
    streams: list[plan.Stream] = []
    states = ["pending", "running", "stopping", "stopped"]
    paginator = ec2.get_paginator("describe_instances")
    for page in paginator.paginate(Filters=[{"Name": "instance-state-name", "Values": states}]):
        for reservation in page.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                iid = inst["InstanceId"]
                streams += plan.streams_for(account, region, iid, agent.get(iid))
    return streams + (usage_streams(cloudwatch, account, region) if usage else [])


class CloudWatchPoller:
    """Polls every configured account and region; see the module docstring."""

    def __init__(
        self,
        clients: AwsClients,
        accounts: list[AccountConfig],
        producer: EventProducer,
        state: StateStore,
        *,
        period_s: int,
        lag: timedelta,
        initial_lookback: timedelta,
        usage_metrics: bool = False,
    ) -> None:
        self.clients = clients
        self.accounts = accounts
        self.producer = producer
        self.state = state
        self.period_s = period_s
        self.lag = lag
        self.initial_lookback = initial_lookback
        self.usage_metrics = usage_metrics

    def _scopes(self) -> Iterable[tuple[AccountConfig, str]]:
        for account in self.accounts:
            for region in account.regions:
                yield account, region

    async def poll_once(self, now: datetime | None = None) -> int:
        """Publish every closed period since each watermark; return datapoints published."""
        end = plan.closed_end(now or utcnow(), self.lag, self.period_s)
        default_start = plan.floor_period(end - self.initial_lookback, self.period_s)
        total = 0
        for account, region in self._scopes():
            total += await self._scope(account, region, default_start, end, backfill=False)
        return total

    async def backfill(self, start: datetime, end: datetime, progress: bool = True) -> int:
        """Publish ``[start, end)`` day by day with a progress bar; watermarks only move forward."""
        start = plan.floor_period(start.astimezone(UTC), self.period_s)
        end = plan.floor_period(end.astimezone(UTC), self.period_s)
        steps = []
        cursor = start
        while cursor < end:
            steps.append((cursor, min(cursor + BACKFILL_STEP, end)))
            cursor = steps[-1][1]
        total = 0
        scopes = list(self._scopes())
        with tqdm(total=len(steps) * len(scopes), unit="day", disable=not progress) as bar:
            for account, region in scopes:
                for step_start, step_end in steps:
                    total += await self._scope(account, region, step_start, step_end, backfill=True)
                    bar.update(1)
                    bar.set_postfix(datapoints=total)
        return total

    async def _scope(
        self,
        account: AccountConfig,
        region: str,
        default_start: datetime,
        end: datetime,
        *,
        backfill: bool,
    ) -> int:
        ec2 = self.clients.for_account(account, "ec2", region)
        cloudwatch = self.clients.for_account(account, "cloudwatch", region)
        streams = await asyncio.to_thread(
            discover, ec2, cloudwatch, account.account_id, region, self.usage_metrics
        )
        starts = []
        for stream in streams:
            mark = self.state.watermark(stream.key)
            if backfill or mark is None:
                starts.append(default_start)
            else:
                starts.append(datetime.fromisoformat(mark))
        sent = 0
        for call in plan.plan_calls(streams, starts, end):
            points = await asyncio.to_thread(fetch, cloudwatch, call, self.period_s)
            futures = []
            for index, stream in enumerate(call.streams):
                for ts, value in points[index]:
                    if not plan.in_window(ts, call.starts[index], end):
                        continue
                    futures.append(await self._send(stream, ts, value))
            await asyncio.gather(*futures)
            sent += len(futures)
            marks = {}
            for stream in call.streams:
                previous = self.state.watermark(stream.key)
                if previous is None or datetime.fromisoformat(previous) < end:
                    marks[stream.key] = end.isoformat()
            self.state.set_watermarks(marks)
        log.info("cloudwatch polled", account=account.account_id, region=region, datapoints=sent)
        return sent

    async def _send(self, stream: plan.Stream, ts: datetime, value: float) -> Any:
        ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        usage = stream.spec.namespace in USAGE_NAMESPACES
        point = MetricDatapoint(
            id=stable_id(stream.key, ts.isoformat()),
            resource_id=stream.instance_id,
            account_id=stream.account_id,
            region=stream.region,
            namespace=stream.spec.namespace,
            metric=stream.spec.metric,
            stat=stream.stat,
            unit=stream.spec.unit,
            period_s=self.period_s,
            timestamp=ts,
            value=float(value),
            # Usage metrics name their resource by dimension; EC2 points stay as they were.
            dimensions=dict(stream.dimensions) if usage else {},
        )
        if usage:  # their own topic, keyed by account: priced by the anomaly usage loop
            return await self.producer.send(CLOUDWATCH_USAGE, point, key=stream.account_id)
        return await self.producer.send(CLOUDWATCH_DATAPOINTS, point, key=stream.instance_id)
