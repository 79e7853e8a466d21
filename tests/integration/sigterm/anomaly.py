"""Anomaly: CUR deliveries in, cost incidents out; the reference comes from the pure core."""

from __future__ import annotations

import asyncio
from collections import Counter

from shared.topics import ANOMALIES, COSTS_DAILY
from tests.integration.anomaly import helpers as h
from tests.integration.anomaly.test_worker_recovery import (
    accounts_on_every_partition,
    assert_exactly_reference,
)
from tests.integration.sigterm.process import ServiceProcess
from tests.integration.sigterm.scenario import Context, Scenario

ACCOUNTS = 6
DAYS = 45
# Small polls: many checkpoints, so SIGTERM lands between (or during) them.
MAX_POLL_RECORDS = 20
SPIKE_DAY = 30


class AnomalySigterm(Scenario):
    """Enough deliveries that the cost loop is mid-stream when its first points appear."""

    service = "anomaly"

    def __init__(self) -> None:
        self.expected: dict[str, list[str]] = {}

    def prepare(self, ctx: Context) -> dict[str, str]:
        accounts = accounts_on_every_partition()[:ACCOUNTS]
        batches = h.deliveries(accounts, DAYS, {a: SPIKE_DAY + i for i, a in enumerate(accounts)})
        self.expected = h.reference_incidents(batches)
        assert len(self.expected) == ACCOUNTS
        asyncio.run(h.produce(ctx.bootstrap, ctx.prefix, batches))
        return {
            "SPENDSTREAM_ANOMALY_RUN_METRICS": "false",
            "SPENDSTREAM_ANOMALY_WARMUP_DAYS": "14",
            "SPENDSTREAM_ANOMALY_MAX_POLL_RECORDS": str(MAX_POLL_RECORDS),
            "SPENDSTREAM_ANOMALY_COMMIT_INTERVAL_S": "0.2",
        }

    def busy(self, ctx: Context) -> bool:
        return bool(asyncio.run(h.read_all(ctx.bootstrap, ctx.prefix, COSTS_DAILY)))

    def stopped(self, ctx: Context) -> None:
        published = {e.id for e in h.anomalies(ctx.bootstrap, ctx.prefix, ANOMALIES)}
        reference = {i for ids in self.expected.values() for i in ids}
        assert published <= reference, f"not in the reference: {published - reference}"
        print(f"anomaly: {len(published)} of {len(reference)} events out at stop")

    def finished(self, ctx: Context, service: ServiceProcess) -> None:
        events = assert_exactly_reference(ctx.bootstrap, ctx.prefix, self.expected)
        twice = {i: n for i, n in Counter(e.id for e in events).items() if n > 1}
        assert not twice, f"anomaly events published more than once: {twice}"
