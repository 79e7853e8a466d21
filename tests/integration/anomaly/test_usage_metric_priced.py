"""A NAT-gateway runaway is priced from its usage metric before any CUR shows it, and the
next CUR delivery confirms it in the same incident (issue 15 item 2).

One real anomaly worker (cost and usage loops) on the embedded broker. The CUR of
days 0..21 teaches the account's NAT rate ($0.040/GB, not the $0.045 list price);
5-minute NAT byte metrics (both directions) of days 0..22, whose hourly sums are the
CUR's usage amounts, triple from 06:00 on day 22. The usage loop must open a priced
incident from the metrics alone; the partial-day delivery of day 22 must then come
out as an update of that incident, carrying the CUR's impact and the estimate's error,
also when the worker is killed in between (state comes back from the changelogs).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from shared.codec import decode
from shared.events import (
    AccountUnitRates,
    AnomalyEvent,
    CostLineItem,
    Event,
    MetricDatapoint,
    stable_id,
)
from shared.kafka import EventProducer, make_producer
from shared.topics import ANOMALIES, CLOUDWATCH_USAGE, UNIT_RATES, ensure_topics
from tests.harness.wait import wait_for
from tests.integration.anomaly import helpers as h
from tests.unit.anomaly.cur_events import BILLING, bracketed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

ACCOUNT = "310987654321"
NAT = "nat-0a1b2c3d4e5f60718"
RATE = 0.040  # the account's own USD per GB (the catalogue says 0.045)
HISTORY_DAYS = 22
SPIKE_HOUR = 6
THROUGH_HOURS = 12  # the partial delivery of the spike day
GIB = float(2**30)
START = datetime.combine(BILLING, datetime.min.time(), UTC)
SPIKE = START + timedelta(days=HISTORY_DAYS, hours=SPIKE_HOUR)
SHARES = (("BytesOutToDestination", 0.7), ("BytesOutToSource", 0.3))


# The cost loop and the usage loop (the helpers' workers run the cost loop alone).
USAGE_ENV = {
    "SPENDSTREAM_ANOMALY_RUN_USAGE": "true",
    "SPENDSTREAM_ANOMALY_INTRADAY_PROFILE_DAYS": "7",
}


def _gb_per_5min() -> dict[str, np.ndarray]:
    """Each direction's GB per 5 minutes, days 0..21 and the spike day's first hours."""
    rng = np.random.default_rng(11)
    steps = (HISTORY_DAYS * 24 + THROUGH_HOURS) * 12
    t = START + np.arange(steps) * timedelta(minutes=5)
    hours = np.array([x.hour for x in t])
    hourly = 200.0 + 100.0 * ((hours >= 8) & (hours < 20))  # GB an hour, diurnal
    hourly = hourly + 600.0 * np.array([x >= SPIKE for x in t])  # the runaway
    return {m: hourly / 12 * share * (1 + rng.normal(0, 0.03, steps)) for m, share in SHARES}


def _delivery(attempt: str, gb: dict[str, np.ndarray], hours: int, at: datetime) -> list[Event]:
    """A month-to-date CUR delivery of the first ``hours`` NAT hours (usage = the metrics)."""
    total = sum(gb.values())
    per_hour = total[: hours * 12].reshape(hours, 12).sum(axis=1)
    common = {"attempt_id": attempt, "delivery_id": f"d-{BILLING}", "billing_period": BILLING}
    items = [
        CostLineItem(
            id=stable_id(attempt, n),
            source_format="cur2",
            source_file="f.parquet",
            source_row=n,
            usage_start=START + timedelta(hours=n),
            usage_end=START + timedelta(hours=n + 1),
            account_id=ACCOUNT,
            service="AmazonEC2",
            usage_type="NatGateway-Bytes",
            region="us-east-1",
            resource_id=NAT,
            line_item_type="Usage",
            usage_amount=round(float(used), 6),
            unblended_cost=round(float(used) * RATE, 6),
            **common,
        )
        for n, used in enumerate(per_hour)
    ]
    return bracketed(items, attempt, ACCOUNT, BILLING, at)


async def _produce_metrics(bootstrap: str, prefix: str, gb: dict[str, np.ndarray]) -> None:
    settings = h.settings_for(bootstrap, prefix)
    await ensure_topics(settings)
    raw = make_producer(settings)
    await raw.start()
    try:
        producer = EventProducer(raw, settings)
        steps = len(next(iter(gb.values())))
        for k in range(steps):
            ts = START + timedelta(minutes=5 * k)
            for metric, _share in SHARES:
                point = MetricDatapoint(
                    id=stable_id(NAT, metric, k),
                    resource_id=NAT,
                    account_id=ACCOUNT,
                    region="us-east-1",
                    namespace="AWS/NATGateway",
                    metric=metric,
                    stat="Sum",
                    unit="Bytes",
                    period_s=300,
                    timestamp=ts,
                    value=float(gb[metric][k] * GIB),
                    dimensions={"NatGatewayId": NAT},
                )
                await producer.send(CLOUDWATCH_USAGE, point, ACCOUNT)
        await raw.flush()
    finally:
        await raw.stop()


def _mine(bootstrap: str, prefix: str) -> list[AnomalyEvent]:
    return [e for e in h.anomalies(bootstrap, prefix, ANOMALIES) if e.account_id == ACCOUNT]


def _rates(bootstrap: str, prefix: str) -> list[AccountUnitRates]:
    records = asyncio.run(h.read_all(bootstrap, prefix, UNIT_RATES))
    return [decode(v, hd, UNIT_RATES.values) for v, hd in records]  # type: ignore[misc]


def test_a_nat_spike_is_priced_before_the_cur_and_confirmed_in_the_same_incident(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    gb = _gb_per_5min()
    history = [
        _delivery(f"day-{d}", gb, d * 24, START + timedelta(days=d, hours=9))
        for d in range(14, HISTORY_DAYS + 1)
    ]
    asyncio.run(h.produce(kafka_bootstrap, topic_prefix, history))
    worker = h.start_worker(
        kafka_bootstrap,
        topic_prefix,
        tmp_path,
        "usage",
        USAGE_ENV,
    )
    try:
        # The cost loop learns the account's rate from the CUR and publishes it.
        rates = wait_for(
            lambda: [r for r in _rates(kafka_bootstrap, topic_prefix) if r.rates],
            timeout=120,
            interval=1.0,
            description="the account's unit rates",
        )
        nat = next(r for r in rates[-1].rates if r.usage_type == "NatGateway-Bytes")
        assert nat.usd_per_unit == pytest.approx(RATE, rel=1e-3)
        assert not _mine(kafka_bootstrap, topic_prefix)  # nothing unusual in the history

        asyncio.run(_produce_metrics(kafka_bootstrap, topic_prefix, gb))
        opened = wait_for(
            lambda: [e for e in _mine(kafka_bootstrap, topic_prefix) if e.action == "open"],
            timeout=180,
            interval=1.0,
            description="a priced usage-metric incident",
        )
        assert len(opened) == 1
        usage = opened[0]
        assert usage.kind == "metric"
        assert usage.impact_estimated
        assert usage.impact_rate_source == "cur"  # priced at the account's own rate
        assert usage.usage_type == "NatGateway-Bytes"
        assert usage.resource_id == NAT
        assert usage.window_start == SPIKE
        assert usage.window_end <= SPIKE + timedelta(minutes=15)  # data-time latency
        assert usage.impact_usd is not None
        assert usage.impact_usd > 0
        # No delivery with the spike day exists yet: no cost incident either.
        assert all(e.kind == "metric" for e in _mine(kafka_bootstrap, topic_prefix))

        # A crash between the metric and the CUR: both loops resume from their changelogs.
        h.kill(worker)
        worker = h.start_worker(
            kafka_bootstrap,
            topic_prefix,
            tmp_path,
            "usage-restarted",
            USAGE_ENV,
        )
        partial = _delivery(
            "partial-12h",
            gb,
            HISTORY_DAYS * 24 + THROUGH_HOURS,
            START + timedelta(days=HISTORY_DAYS, hours=22),
        )
        asyncio.run(h.produce(kafka_bootstrap, topic_prefix, [partial]))
        confirmed = wait_for(
            lambda: [e for e in _mine(kafka_bootstrap, topic_prefix) if e.kind == "cost"],
            timeout=120,
            interval=1.0,
            description="the CUR's confirmation",
        )
        cost = confirmed[0]
        assert cost.incident_id == usage.incident_id  # one incident, not two
        assert cost.action == "update"
        assert cost.linked_incident_id not in (None, cost.incident_id)
        usage_revisions = [
            e.revision for e in _mine(kafka_bootstrap, topic_prefix) if e.kind == "metric"
        ]
        assert (
            cost.revision % 2 == 1
        )  # the cost loop's odd revisions never collide with the usage loop's
        assert cost.revision > min(usage_revisions)
        assert cost.impact_estimate_error is not None
        assert abs(cost.impact_estimate_error) < 0.5
        assert not cost.impact_estimated  # the CUR's figure, not an estimate
        after = _mine(kafka_bootstrap, topic_prefix)
        assert {e.incident_id for e in after} == {usage.incident_id}
        # At least once with stable ids: a replay after the kill may repeat the open,
        # never open another (the gateway keeps one row per event id).
        assert len({e.id for e in after if e.action == "open"}) == 1
        print(
            f"usage open at {usage.window_end - SPIKE} of data time, "
            f"estimate error on confirmation {cost.impact_estimate_error:+.1%}"
        )
    finally:
        h.stop(worker)
