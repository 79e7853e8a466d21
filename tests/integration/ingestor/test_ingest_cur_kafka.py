from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from services.ingestor.app import event_producer
from services.ingestor.cur_runner import CurRunner, make_source
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.events import DeadLetter, DeliveryCompleted, DeliveryStarted
from shared.topics import CUR_LINE_ITEMS
from tests.fixtures.cur.builders import (
    FOCUS_SAMPLE,
    LEGACY_SAMPLE,
    cur2_table,
    daily_totals,
    export_delivery,
    legacy_delivery,
    write_csv_gz,
    write_parquet,
)
from tests.integration.ingestor.reading import per_day_totals, read_topic

pytestmark = pytest.mark.integration


def three_formats(root: Path, scratch: Path) -> dict[tuple[str, str], Decimal]:
    """Legacy (real sample), FOCUS (real sample), CUR 2.0 (Parquet + CSV.gz); the file totals."""
    legacy_delivery(root, [LEGACY_SAMPLE])
    export_delivery(root, [FOCUS_SAMPLE], export="focus", execution_id="f-1")
    table = cur2_table(5000)
    parquet = write_parquet(table, scratch / "cur2-00001.snappy.parquet", row_group_size=1000)
    csvgz = write_csv_gz(cur2_table(700, seed=3), scratch / "cur2-00002.csv.gz")
    export_delivery(root, [parquet, csvgz], export="cur2", execution_id="c-1")
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for src, cost, start, account in (
        (
            LEGACY_SAMPLE,
            "lineItem/UnblendedCost",
            "lineItem/UsageStartDate",
            "lineItem/UsageAccountId",
        ),
        (FOCUS_SAMPLE, "BilledCost", "ChargePeriodStart", "SubAccountId"),
        (
            csvgz,
            "line_item_unblended_cost",
            "line_item_usage_start_date",
            "line_item_usage_account_id",
        ),
    ):
        for k, v in daily_totals(src, cost, start, account).items():
            expected[k] += v
    for account, start, cost in zip(
        table.column("line_item_usage_account_id").to_pylist(),
        table.column("line_item_usage_start_date").to_pylist(),
        table.column("line_item_unblended_cost").to_pylist(),
        strict=True,
    ):
        expected[(account, start.date().isoformat())] += Decimal(repr(cost))
    return dict(expected)


async def ingest(settings: IngestorSettings, source: str, s3: object = None, force: bool = False):
    async with event_producer(settings) as producer:
        runner = CurRunner(
            make_source(source, s3), producer, StateStore(settings.ingestor_state_dir)
        )
        return await runner.run_once(force=force)


async def test_every_format_from_a_directory_lands_exactly_once(
    tmp_path: Path, make_settings: Callable[..., IngestorSettings]
) -> None:
    expected = three_formats(tmp_path / "bucket", tmp_path / "scratch")
    settings = make_settings()
    reports = await ingest(settings, str(tmp_path / "bucket"))
    assert sorted(r.rows for r in reports) == [1000, 1281, 5700]
    records = await read_topic(settings, CUR_LINE_ITEMS)
    assert per_day_totals(records) == expected
    completed = [r.event for r in records if isinstance(r.event, DeliveryCompleted)]
    started = [r.event for r in records if isinstance(r.event, DeliveryStarted)]
    assert len(started) == len(completed) == len({(c.account_id, c.delivery_id) for c in completed})
    assert sum(c.row_count for c in completed) == 1281 + 1000 + 5700
    # re-running over the same files changes nothing
    assert await ingest(settings, str(tmp_path / "bucket")) == []
    assert len(await read_topic(settings, CUR_LINE_ITEMS)) == len(records)


async def test_every_format_from_s3_through_moto(
    tmp_path: Path, moto: str, make_settings: Callable[..., IngestorSettings]
) -> None:
    expected = three_formats(tmp_path / "bucket", tmp_path / "scratch")
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="billing")
    for path in (tmp_path / "bucket").rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "billing", path.relative_to(tmp_path / "bucket").as_posix())
    corrupt = b"PAR1" + b"\x00" * 64
    s3.put_object(
        Bucket="billing", Key="exports/cur2/data/BILLING_PERIOD=2024-05/bad.parquet", Body=corrupt
    )
    manifest_key = "exports/cur2/metadata/BILLING_PERIOD=2024-05/cur2-Manifest.json"
    body = s3.get_object(Bucket="billing", Key=manifest_key)["Body"].read()
    s3.put_object(
        Bucket="billing",
        Key=manifest_key,
        Body=body.replace(
            b'"dataFiles": [',
            b'"dataFiles": ["s3://billing/exports/cur2/data/BILLING_PERIOD=2024-05/bad.parquet", ',
        ),
    )
    settings = make_settings(ingestor_aws_endpoint_url=moto)
    reports = await ingest(settings, "s3://billing/", s3)
    assert sorted(r.rows for r in reports) == [1000, 1281, 5700]
    records = await read_topic(settings, CUR_LINE_ITEMS)
    assert per_day_totals(records) == expected
    letters = [
        r.event
        for r in await read_topic(settings, CUR_LINE_ITEMS.dlq)
        if isinstance(r.event, DeadLetter)
    ]
    assert [(d.source_file, d.source_row) for d in letters] == [
        ("exports/cur2/data/BILLING_PERIOD=2024-05/bad.parquet", None)
    ]
    assert "corrupt Parquet" in letters[0].reason
    completed = [r.event for r in records if isinstance(r.event, DeliveryCompleted)]
    assert sum(c.rejected_count for c in completed) == 1
