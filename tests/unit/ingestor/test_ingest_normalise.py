from __future__ import annotations

import gzip
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from services.ingestor.batching import encode_body
from services.ingestor.cur.formats import detect
from services.ingestor.cur.normalise import BatchNormaliser, FileContext, Rejected
from services.ingestor.cur.readers import open_data_file
from services.ingestor.exceptions import FileRefused
from shared.codec import encode_value
from shared.events import CostLineItem
from tests.fixtures.cur.builders import (
    FOCUS_SAMPLE,
    LEGACY_SAMPLE,
    cur2_table,
    daily_totals,
    write_csv_gz,
    write_parquet,
)

CTX = FileContext("att", "dlv", "dlvkey", date(2023, 11, 1), "data/file")


def normalise(path: Path, ctx: FileContext = CTX) -> tuple[list[dict], list[Rejected]]:
    opened = open_data_file(path)
    normaliser = BatchNormaliser(detect(opened.header), opened.header, ctx)
    items, rejected, row = [], [], 1
    for batch in opened.batches:
        for out in normaliser.rows(batch, row):
            (rejected if isinstance(out, Rejected) else items).append(out)
        row += batch.num_rows
    return items, rejected


def total(items: list[dict]) -> Decimal:
    return sum((Decimal(repr(i["unblended_cost"])) for i in items), Decimal())


def test_legacy_sample_totals_match_the_file_exactly() -> None:
    items, rejected = normalise(LEGACY_SAMPLE)
    expected = daily_totals(
        LEGACY_SAMPLE,
        "lineItem/UnblendedCost",
        "lineItem/UsageStartDate",
        "lineItem/UsageAccountId",
    )
    assert (len(items), rejected) == (1281, [])
    assert total(items) == sum(expected.values()) == Decimal("1.6823086974")
    first = CostLineItem.model_validate(items[0])
    assert (first.source_format, first.line_item_type, first.currency) == (
        "legacy_cur",
        "Tax",
        "USD",
    )


def test_focus_sample_normalises_every_field() -> None:
    items, rejected = normalise(FOCUS_SAMPLE)
    assert (len(items), rejected) == (1000, [])
    tagged = next(i for i in items if i["tags"])
    item = CostLineItem.model_validate(tagged)
    assert item.source_format == "focus"
    assert item.tags["environment"]
    assert item.account_id
    assert item.payer_account_id == "1234567890123"
    assert item.list_cost is not None
    assert item.amortized_cost is not None
    expected = daily_totals(FOCUS_SAMPLE, "BilledCost", "ChargePeriodStart", "SubAccountId")
    assert total(items) == sum(expected.values())


def test_cur2_parquet_streams_row_groups_with_map_tags(tmp_path: Path) -> None:
    table = cur2_table(2500)
    path = write_parquet(table, tmp_path / "part-0.snappy.parquet", row_group_size=1000)
    items, rejected = normalise(path)
    assert (len(items), rejected) == (2500, [])
    assert [i["source_row"] for i in items] == list(range(1, 2501))
    assert items[1]["tags"] == {"team": "a"}
    assert items[0]["usage_start"].tzinfo is not None
    assert total(items) == sum(
        Decimal(repr(c)) for c in table.column("line_item_unblended_cost").to_pylist()
    )


def test_cur2_csv_gz_reads_decimal_text(tmp_path: Path) -> None:
    path = write_csv_gz(cur2_table(300), tmp_path / "part-0.csv.gz")
    items, rejected = normalise(path)
    assert (len(items), rejected) == (300, [])
    assert items[0]["source_format"] == "cur2"


def test_identical_rows_never_collapse_and_ids_are_reproducible(tmp_path: Path) -> None:
    header = (
        "lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost,identity/LineItemId"
    )
    row = "111111111111,2023-11-01T00:00:00Z,0.5,samelineitemid"
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([header, row, row, row]) + "\n")
    items, _ = normalise(path)
    again, _ = normalise(path)
    assert len({i["id"] for i in items}) == 3
    assert [i["id"] for i in items] == [i["id"] for i in again]
    other_delivery = FileContext("att2", "dlv", "otherkey", date(2023, 11, 1), "data/file")
    moved, _ = normalise(path, other_delivery)
    assert not {i["id"] for i in moved} & {i["id"] for i in items}


def test_unparseable_number_rejects_the_row_with_file_row_and_reason(tmp_path: Path) -> None:
    header = "lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost"
    rows = [
        "111111111111,2023-11-01T00:00:00Z,0.5",
        "111111111111,2023-11-01T00:00:00Z,1.2.3",
        "111111111111,not-a-time,1",
        ",2023-11-01T00:00:00Z,1",
        "111111111111,2023-11-01T00:00:00Z,inf",
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    items, rejected = normalise(path)
    assert len(items) == 1
    assert [r.source_row for r in rejected] == [2, 3, 4, 5]
    assert "unparseable number '1.2.3'" in rejected[0].reason
    assert "timestamp" in rejected[1].reason
    assert "missing account id" in rejected[2].reason
    assert rejected[0].raw["lineItem/UnblendedCost"] == "1.2.3"


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(FileRefused, match="unknown billing format"):
        detect(open_data_file(path).header)


def test_missing_required_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("lineItem/UnblendedCost,lineItem/UsageStartDate\n1,2023-11-01T00:00:00Z\n")
    opened = open_data_file(path)
    with pytest.raises(FileRefused, match="lineItem/UsageAccountId"):
        BatchNormaliser(detect(opened.header), opened.header, CTX)


def test_corrupt_gzip_is_refused(tmp_path: Path) -> None:
    good = gzip.compress(LEGACY_SAMPLE.read_bytes())
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(good[: len(good) // 2] + b"\x00garbage" * 100)
    with pytest.raises(FileRefused, match=r"broken\.csv\.gz"):
        normalise(path)


def test_corrupt_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 100)
    with pytest.raises(FileRefused, match="corrupt Parquet"):
        open_data_file(path)


def test_amortised_cost_follows_savings_plan_rules() -> None:
    table = pa.table(
        {
            "line_item_usage_account_id": ["1", "1", "1"],
            "line_item_usage_start_date": ["2024-05-01T00:00:00Z"] * 3,
            "line_item_unblended_cost": ["1.0", "-1.0", "2.0"],
            "line_item_line_item_type": ["SavingsPlanCoveredUsage", "SavingsPlanNegation", "Usage"],
            "savings_plan_savings_plan_effective_cost": ["0.6", "", ""],
        }
    )
    normaliser = BatchNormaliser(detect(table.column_names), table.column_names, CTX)
    out = list(normaliser.rows(table.to_batches()[0], 1))
    assert [o["amortized_cost"] for o in out] == [0.6, 0.0, 2.0]


def test_batched_bodies_are_the_bytes_the_shared_codec_produces(tmp_path: Path) -> None:
    items, _ = normalise(write_parquet(cur2_table(50), tmp_path / "p.parquet"))
    items += normalise(FOCUS_SAMPLE)[0][:50] + normalise(LEGACY_SAMPLE)[0][:50]
    for item in items:
        assert encode_body(item) == encode_value(CostLineItem.model_validate(item))
