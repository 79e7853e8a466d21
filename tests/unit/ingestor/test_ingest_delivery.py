from __future__ import annotations

import asyncio
import gzip
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.ingestor.cur_runner import CurRunner
from services.ingestor.sources import LocalSource
from services.ingestor.state import StateStore
from shared.events import CostLineItem, DeadLetter, DeliveryCompleted, DeliveryStarted
from tests.fixtures.cur.builders import (
    LEGACY_SAMPLE,
    cur2_table,
    export_delivery,
    legacy_delivery,
    write_parquet,
)
from tests.unit.ingestor.fakes import FakeProducer


async def run(root: Path, state_dir: Path, force: bool = False) -> tuple[FakeProducer, list]:
    producer = FakeProducer()
    runner = CurRunner(LocalSource(root), producer, StateStore(state_dir))  # type: ignore[arg-type]
    reports = await runner.run_once(force=force)
    return producer, reports


async def test_markers_bracket_each_accounts_items_and_follow_every_ack(tmp_path: Path) -> None:
    data = write_parquet(
        cur2_table(3000, accounts=("1", "2", "3")), tmp_path / "src" / "p0.parquet"
    )
    export_delivery(tmp_path / "bucket", [data])
    producer, reports = await run(tmp_path / "bucket", tmp_path / "state")
    assert not producer.completed_before_all_acked
    by_key = defaultdict(list)
    for sent in producer.sent:
        by_key[sent.key].append(sent.event)
    for account in ("1", "2", "3"):
        events = by_key[account]
        assert isinstance(events[0], DeliveryStarted)
        assert isinstance(events[-1], DeliveryCompleted)
        items = [e for e in events if isinstance(e, CostLineItem)]
        assert len(items) == 1000 == events[-1].row_count
        assert events[-1].cost_total == float(sum(Decimal(repr(i.unblended_cost)) for i in items))
        assert {e.attempt_id for e in events} == {reports[0].attempt_id}


async def test_rerun_skips_delivered_and_force_reingests_with_same_item_ids(tmp_path: Path) -> None:
    legacy_delivery(tmp_path / "bucket", [LEGACY_SAMPLE])
    first, reports = await run(tmp_path / "bucket", tmp_path / "state")
    assert reports[0].rows == 1281
    assert reports[0].cost_total == Decimal("1.6823086974")
    again, none = await run(tmp_path / "bucket", tmp_path / "state")
    assert (none, again.sent) == ([], [])
    forced, forced_reports = await run(tmp_path / "bucket", tmp_path / "state", force=True)
    assert forced_reports[0].attempt_id != reports[0].attempt_id
    assert {i.id for i in forced.of(CostLineItem)} == {i.id for i in first.of(CostLineItem)}


async def test_bad_rows_and_refused_files_go_to_the_dlq_and_the_rest_flows(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    bad_rows = src / "bad.csv"
    bad_rows.write_text(
        "lineItem/UsageAccountId,bill/PayerAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost\n"
        "111111111111,999999999999,2023-11-01T00:00:00Z,0.25\n"
        "111111111111,999999999999,2023-11-01T00:00:00Z,abc\n"
    )
    unknown = src / "unknown.csv"
    unknown.write_text("foo,bar\n1,2\n")
    corrupt = src / "corrupt.csv.gz"
    corrupt.write_bytes(gzip.compress(LEGACY_SAMPLE.read_bytes())[:5000])
    legacy_delivery(
        tmp_path / "bucket", [bad_rows, unknown, corrupt, LEGACY_SAMPLE], gzip_files=False
    )
    producer, reports = await run(tmp_path / "bucket", tmp_path / "state")
    letters = producer.of(DeadLetter)
    reasons = {(dl.source_file.rsplit("/", 1)[-1], dl.source_row): dl.reason for dl in letters}
    assert "unparseable number 'abc'" in reasons[("hourly-1.csv", 2)]
    assert "unknown billing format" in reasons[("hourly-2.csv", None)]
    assert "corrupt" in reasons[("hourly-3.csv", None)]
    completed = {c.account_id: c for c in producer.of(DeliveryCompleted)}
    assert completed["111111111111"].row_count == 1
    # one bad row + two refused files, the latter on the payer's marker
    assert completed["111111111111"].rejected_count == 1
    assert completed["999999999999"].rejected_count == 2
    assert completed["123412340534"].row_count == 1281  # the rest of the delivery still flows
    assert len(reports[0].refused_files) == 2


def test_local_source_requires_a_directory(tmp_path: Path) -> None:
    from services.ingestor.exceptions import SourceError

    with pytest.raises(SourceError, match="not a directory"):
        LocalSource(tmp_path / "missing")


async def test_stop_lets_the_delivery_in_progress_finish_and_starts_no_other(
    tmp_path: Path,
) -> None:
    for i, month in enumerate((1, 2, 3)):
        period = date(2024, month, 1)
        data = write_parquet(cur2_table(50, period=period), tmp_path / "src" / f"{i}" / "p.parquet")
        export_delivery(tmp_path / "bucket", [data], period=period, execution_id=f"e{i}")
    stop = asyncio.Event()
    state = StateStore(tmp_path / "state")
    runner = CurRunner(LocalSource(tmp_path / "bucket"), FakeProducer(), state)  # type: ignore[arg-type]
    mark = state.mark_delivered

    def mark_then_stop(key: str, record: dict) -> None:
        mark(key, record)
        stop.set()  # SIGTERM arrives while the first delivery is being ingested

    state.mark_delivered = mark_then_stop  # type: ignore[method-assign]
    first = await runner.run_once(stop=stop)
    assert [r.rows for r in first] == [50]
    assert len(state.deliveries()) == 1
    rest = await runner.run_once()
    assert [r.rows for r in rest] == [50, 50]
    assert len(state.deliveries()) == 3
