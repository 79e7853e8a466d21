"""Ingestor: CUR deliveries in a directory in, line items and delivery markers out.

"Committed" for the ingestor is its delivered set: a delivery in it is never
ingested again, so it must only hold deliveries whose attempt is complete on
the topic. Line item ids are stable per (delivery, file, row), so a completed
attempt must hold each row of its delivery exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import date

from services.ingestor.state import StateStore
from shared.events import CostLineItem, DeliveryCompleted
from shared.topics import CUR_LINE_ITEMS, ensure_topics
from tests.fixtures.cur.builders import cur2_table, export_delivery, write_parquet
from tests.harness.wait import wait_for
from tests.integration.ingestor.reading import Record, read_topic, topic_size
from tests.integration.sigterm.process import ServiceProcess
from tests.integration.sigterm.scenario import Context, Scenario

PERIODS = tuple(date(2024, month, 1) for month in range(1, 5))
ROWS = 5_000
ACCOUNTS = ("111111111111", "222222222222")


def completed_attempts(records: list[Record]) -> dict[str, set[str]]:
    """billing period -> ids of the attempts with completed markers."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.event.ce_type == DeliveryCompleted.ce_type():
            out[r.event.fields["billing_period"]].add(r.event.fields["attempt_id"])
    return dict(out)


def items_of(records: list[Record], attempt: str) -> list[dict]:
    """The line items of one attempt, as JSON fields."""
    item = CostLineItem.ce_type()
    return [
        r.event.fields
        for r in records
        if r.event.ce_type == item and r.event.fields["attempt_id"] == attempt
    ]


def assert_whole_delivery(records: list[Record], attempt: str) -> None:
    """The attempt sent every row of its file once: rows 1..ROWS, no id twice."""
    items = items_of(records, attempt)
    twice = [i for i, n in Counter(e["id"] for e in items).items() if n > 1]
    assert not twice, f"attempt {attempt}: {len(twice)} line item ids sent twice"
    assert sorted(e["source_row"] for e in items) == list(range(1, ROWS + 1))


class IngestorSigterm(Scenario):
    """Four monthly deliveries of 5k rows each: SIGTERM once the first items are out."""

    service = "ingestor"

    def prepare(self, ctx: Context) -> dict[str, str]:
        root = ctx.tmp / "bucket"
        for i, period in enumerate(PERIODS):
            table = cur2_table(ROWS, accounts=ACCOUNTS, period=period, seed=i)
            data = write_parquet(table, ctx.tmp / "scratch" / f"{i}" / "cur2-00001.snappy.parquet")
            export_delivery(root, [data], period=period, execution_id=f"exec-{i}")
        asyncio.run(ensure_topics(ctx.settings()))  # busy() reads the topic before the service runs
        return {"SPENDSTREAM_INGESTOR_CUR_SOURCE": str(root)}

    def busy(self, ctx: Context) -> bool:
        return asyncio.run(topic_size(ctx.settings(), CUR_LINE_ITEMS)) > 0

    def stopped(self, ctx: Context) -> None:
        delivered = StateStore(ctx.tmp / "state" / "ingestor").deliveries()
        records = asyncio.run(read_topic(ctx.settings(), CUR_LINE_ITEMS, light=True))
        completed = {a for ids in completed_attempts(records).values() for a in ids}
        for key, entry in delivered.items():
            assert entry["attempt_id"] in completed, f"{key} marked delivered, not completed"
            assert_whole_delivery(records, entry["attempt_id"])
        print(f"ingestor: {len(delivered)} of {len(PERIODS)} deliveries marked at stop")

    def finished(self, ctx: Context, service: ServiceProcess) -> None:
        periods = {p.isoformat() for p in PERIODS}

        def every_period_completed() -> list[Record] | None:
            # A period's markers (one per account, each on its account's partition)
            # can be read before the other account's last items are: wait until
            # each completed attempt's rows are all visible, then assert on them.
            service.alive()
            records = asyncio.run(read_topic(ctx.settings(), CUR_LINE_ITEMS, light=True))
            attempts = completed_attempts(records)
            if set(attempts) != periods:
                return None
            rows = Counter(
                r.event.fields["attempt_id"]
                for r in records
                if r.event.ce_type == CostLineItem.ce_type()
            )
            whole = all(rows[a] >= ROWS for ids in attempts.values() for a in ids)
            return records if whole else None

        records = wait_for(
            every_period_completed,
            timeout=self.finish_timeout_s,
            interval=0.5,
            description="a completed attempt with every row for every billing period",
        )
        attempts = completed_attempts(records)
        again = {p: ids for p, ids in attempts.items() if len(ids) > 1}
        assert not again, f"deliveries ingested again after a clean stop: {again}"
        for (attempt,) in attempts.values():
            assert_whole_delivery(records, attempt)
