"""Simulator writers: formats parse back, totals match the truth, memory stays bounded."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import build_app
from services.ingestor.cur.formats import detect
from services.ingestor.cur.manifest import latest_per_period, parse_manifest
from simulator import SimConfig, simulate_organisation
from simulator.cloudwatch_out import write_cloudwatch
from simulator.deliveries import plan_deliveries
from simulator.exceptions import WriterError
from simulator.legacy_cur import SAMPLE_COLUMNS
from simulator.line_items import iter_line_chunks
from simulator.writers import write_cur, write_ground_truth

CONFIG = SimConfig(
    seed=5,
    accounts=2,
    days=40,
    start=date(2026, 6, 16),
    instances=20,
    cost_anomalies=5,
    metric_anomalies=2,
)
FOCUS_SAMPLE_COLUMNS = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingUnit",
    "ProviderName",
    "RegionId",
    "ResourceId",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
)


@pytest.fixture(scope="module")
def org():
    return simulate_organisation(CONFIG)


def read_delivery(root: Path, fmt: str, keys: tuple[str, ...]) -> pd.DataFrame:
    frames = []
    for key in keys:
        path = root / key
        if fmt == "cur2":
            frames.append(pq.read_table(path).to_pandas())
        else:
            frames.append(pd.read_csv(path, dtype=str, keep_default_na=False))
    return pd.concat(frames, ignore_index=True)


def per_day(frame: pd.DataFrame, fmt: str) -> pd.Series:
    if fmt == "legacy":
        day, cost = frame["lineItem/UsageStartDate"].str[:10], frame["lineItem/UnblendedCost"]
    elif fmt == "cur2":
        day = frame["line_item_usage_start_date"].dt.strftime("%Y-%m-%d")
        cost = frame["line_item_unblended_cost"]
    else:
        day, cost = frame["ChargePeriodStart"].str[:10], frame["BilledCost"]
    return cost.astype(float).groupby(day).sum()


def truth_per_day(org) -> pd.Series:
    frame = org.daily_costs
    return frame.groupby(frame["date"].dt.strftime("%Y-%m-%d"))["cost"].sum()


@pytest.mark.parametrize("fmt", ["legacy", "cur2", "focus"])
def test_final_deliveries_sum_to_daily_costs(org, tmp_path: Path, fmt: str) -> None:
    written = write_cur(org, str(tmp_path), fmt)
    manifests = [p for p in tmp_path.rglob("*-Manifest.json")]
    parsed = [
        parse_manifest(p.read_bytes(), str(p.relative_to(tmp_path)), p.stat().st_mtime)
        for p in manifests
    ]
    latest = latest_per_period(parsed)
    assert [d.billing_period for d in latest] == [date(2026, 6, 1), date(2026, 7, 1)]
    final = {w.manifest_id: w for w in written}
    frame = pd.concat(
        [read_delivery(tmp_path, fmt, final[d.manifest_id].data_keys) for d in latest]
    )
    assert detect(list(frame.columns)).name == {"legacy": "legacy_cur"}.get(fmt, fmt)
    got, want = per_day(frame, fmt), truth_per_day(org)
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-6)


def test_formats_have_the_real_column_names(org, tmp_path: Path) -> None:
    legacy = write_cur(org, str(tmp_path / "l"), "legacy")[0]
    cur2 = write_cur(org, str(tmp_path / "c"), "cur2")[0]
    focus = write_cur(org, str(tmp_path / "f"), "focus")[0]
    with gzip.open(tmp_path / "l" / legacy.data_keys[0], "rt") as handle:
        header = handle.readline().strip().replace('"', "").split(",")
    # Every column of a real public legacy CUR sample (94 columns) is there, in order.
    assert len(SAMPLE_COLUMNS) == 94
    assert [c for c in header if c in SAMPLE_COLUMNS] == list(SAMPLE_COLUMNS)
    assert {
        "lineItem/ResourceId",
        "lineItem/NetUnblendedCost",
        "product/instanceType",
        "resourceTags/user:env",
    } <= set(header)
    schema = pq.read_schema(tmp_path / "c" / cur2.data_keys[0])
    assert {
        "line_item_unblended_cost",
        "line_item_usage_account_id",
        "product_servicecode",
        "line_item_product_code",
        "line_item_usage_start_date",
    } <= set(schema.names)
    tags_type = schema.field("resource_tags").type
    assert pa.types.is_map(tags_type)
    assert tags_type.key_type == pa.string()
    assert tags_type.item_type == pa.string()
    focus_frame = pd.read_csv(tmp_path / "f" / focus.data_keys[0])
    assert set(FOCUS_SAMPLE_COLUMNS) <= set(focus_frame.columns)
    tags = json.loads(focus_frame["Tags"].dropna().iloc[0])
    assert "env" in tags


def test_restatement_is_two_deliveries(org, tmp_path: Path) -> None:
    (restated,) = [a for a in org.anomalies if a.kind == "restatement"]
    written = write_cur(org, str(tmp_path), "cur2")
    month = restated.start.replace(day=1)
    first, second = [w for w in written if w.billing_period == month]
    assert first.manifest_id != second.manifest_id
    assert first.issued_at < second.issued_at
    assert second.cost_total - first.cost_total == pytest.approx(restated.magnitude, abs=1e-6)

    def series_value(w) -> float:
        frame = read_delivery(tmp_path, "cur2", w.data_keys)
        hit = frame[
            (frame.line_item_usage_type == restated.usage_type)
            & (frame.line_item_usage_account_id == restated.account_id)
            & (frame.line_item_usage_start_date.dt.date == restated.start)
        ]
        return float(hit.line_item_unblended_cost.sum())

    assert series_value(first) == pytest.approx(restated.original_value, abs=1e-6)
    assert series_value(second) == pytest.approx(restated.restated_value, abs=1e-6)
    until = write_cur(org, str(tmp_path / "until"), "cur2", until=first.issued_at)
    assert [w.manifest_id for w in until][-1] == first.manifest_id


def test_hourly_grain_sums_to_daily(org) -> None:
    delivery = plan_deliveries(org)[0]
    chunks = list(iter_line_chunks(org, delivery, "hourly", max_rows=5_000))
    frame = pd.concat(chunks)
    assert frame["usage_start"].dt.hour.nunique() == 24
    got = frame.groupby(frame["usage_start"].dt.strftime("%Y-%m-%d"))["cost"].sum()
    want = truth_per_day(org).loc[got.index]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-6)


def test_writers_stream_in_bounded_chunks(org, tmp_path: Path) -> None:
    delivery = plan_deliveries(org)[0]
    sizes = [len(c) for c in iter_line_chunks(org, delivery, "hourly", max_rows=3_000)]
    assert len(sizes) > 3
    assert max(sizes) <= 3_000
    written = write_cur(
        org,
        str(tmp_path),
        "cur2",
        grain="hourly",
        chunk_rows=3_000,
        file_max_rows=20_000,
        until=delivery.issued_at,
    )
    assert len(written) == 1
    keys = written[0].data_keys
    assert len(keys) > 1
    assert pq.ParquetFile(tmp_path / keys[0]).num_row_groups > 1
    assert written[0].rows == sum(pq.ParquetFile(tmp_path / k).metadata.num_rows for k in keys)


def test_same_seed_same_bytes(org, tmp_path: Path) -> None:
    one = write_cur(org, str(tmp_path / "a"), "legacy")
    two = write_cur(simulate_organisation(CONFIG), str(tmp_path / "b"), "legacy")
    for w1, w2 in zip(one, two, strict=True):
        for k1, k2 in zip(w1.data_keys, w2.data_keys, strict=True):
            assert (tmp_path / "a" / k1).read_bytes() == (tmp_path / "b" / k2).read_bytes()


def test_cloudwatch_file_matches_the_api(org, tmp_path: Path) -> None:
    end = org.dates[1]
    count = write_cloudwatch(org, str(tmp_path / "cw.parquet"), end=end)
    assert count == sum(1 for _ in org.iter_datapoints(end=end))
    frame = pq.read_table(tmp_path / "cw.parquet").to_pandas()
    inst = org.instances[0]
    util = org.instance_utilisation(inst.instance_id, end=end)
    mine = frame[(frame.instance_id == inst.instance_id) & (frame.stat == "Maximum")]
    np.testing.assert_array_equal(mine["value"].to_numpy(), util.cpu_max)
    write_cloudwatch(org, str(tmp_path / "cw.jsonl"), end=end)
    with (tmp_path / "cw.jsonl").open() as handle:
        point = json.loads(handle.readline())
    assert {"instance_id", "account_id", "region", "metric", "stat", "timestamp", "value"} <= set(
        point
    )
    assert datetime.fromisoformat(point["timestamp"]).tzinfo is not None


def test_ground_truth_file(org, tmp_path: Path) -> None:
    write_ground_truth(org, str(tmp_path / "ground_truth.json"))
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert truth == json.loads(json.dumps(org.ground_truth()))


def test_unknown_format_is_refused(org, tmp_path: Path) -> None:
    with pytest.raises(WriterError, match="use one of"):
        write_cur(org, str(tmp_path), "xlsx")


def test_cli_writes_files_and_truth(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        build_app(),
        [
            "simulate",
            "--seed",
            "3",
            "--days",
            "30",
            "--accounts",
            "2",
            "--instances",
            "10",
            "--format",
            "focus",
            "--out",
            str(tmp_path),
            "--cloudwatch-out",
            str(tmp_path / "cw.parquet"),
            "--cloudwatch-days",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "deliveries" in result.output
    until = CliRunner().invoke(
        build_app(),
        [
            "simulate",
            "--seed",
            "3",
            "--days",
            "30",
            "--accounts",
            "2",
            "--instances",
            "10",
            "--out",
            str(tmp_path / "until"),
            "--until",
            "2026-06-15T00:00",
        ],
    )
    assert until.exit_code == 0, until.output
    assert "0 deliveries, 0 line items" in until.output
    assert (tmp_path / "ground_truth.json").exists()
    assert (tmp_path / "cw.parquet").exists()
    assert list(tmp_path.rglob("*-Manifest.json"))


def test_month_to_date_deliveries_grow_and_the_last_one_wins(org, tmp_path: Path) -> None:
    plan = plan_deliveries(org, mtd_every_days=7)
    june = [d for d in plan if d.billing_period == date(2026, 6, 1)]
    assert len(june) >= 2
    assert [d.sequence for d in june] == list(range(len(june)))
    assert all(a.issued_at < b.issued_at for a, b in itertools.pairwise(june))
    mtd, close = june[0], june[-1]
    assert not mtd.month_charges
    assert close.month_charges
    assert len(mtd.days) < len(close.days)
    written = write_cur(org, str(tmp_path), "focus", mtd_every_days=7)
    assert len(written) == len(plan)
    first = read_delivery(tmp_path, "focus", written[0].data_keys)
    assert set(first["ChargeCategory"]) == {"Usage"}  # tax and fees wait for month close
    assert first["ChargePeriodStart"].str[:10].max() < str(org.dates[mtd.days.stop])
    with pytest.raises(WriterError, match="mtd_every_days"):
        plan_deliveries(org, mtd_every_days=0)


def test_cli_refuses_an_unknown_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        build_app(), ["simulate", "--days", "30", "--format", "xlsx", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "use one of" in result.output
