"""The column-wise encoder writes exactly what the dict path + shared codec write.

Every fixture format (legacy CUR CSV, FOCUS CSV, CUR 2.0 Parquet and CSV.gz),
rejected rows included, and the float and string formatting over every
magnitude and escape.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pytest

from services.ingestor.cur import json_columns
from services.ingestor.cur.encode import BatchEncoder
from services.ingestor.cur.formats import detect
from services.ingestor.cur.normalise import BatchNormaliser, FileContext
from services.ingestor.cur.readers import open_data_file
from services.ingestor.delivery import encoded_batches
from shared.codec import encode_value
from shared.events import CostLineItem
from tests.fixtures.cur.builders import (
    FIXTURES,
    FOCUS_SAMPLE,
    LEGACY_SAMPLE,
    cur2_table,
    write_csv_gz,
    write_parquet,
)

CTX = FileContext("att", "dlv", "dlvkey", date(2023, 11, 1), "data/file")


def both_ways(path: Path) -> None:
    """Encode ``path`` both ways, batch by batch, and require identical output."""
    opened = open_data_file(path)
    normaliser = BatchNormaliser(detect(opened.header), opened.header, CTX)
    encoder = BatchEncoder(normaliser)
    row = 1
    for batch in opened.batches:
        items, rejected = normaliser.normalise(batch, row)
        encoded = encoder.encode(batch, row)
        row += batch.num_rows
        assert encoded.rejected == rejected
        assert encoded.values == [encode_value(CostLineItem.model_validate(i)) for i in items]
        assert encoded.ids == [i["id"] for i in items]
        assert encoded.accounts == [i["account_id"] for i in items]
        for account, tally in encoded.per_account.items():
            mine = [i for i in items if i["account_id"] == account]
            assert tally.rows == len(mine)
            assert tally.cost == sum((Decimal(repr(i["unblended_cost"])) for i in mine), Decimal())
            assert tally.payer == mine[0]["payer_account_id"]


def test_legacy_cur_csv_encodes_identically() -> None:
    both_ways(LEGACY_SAMPLE)


def test_focus_csv_encodes_identically() -> None:
    both_ways(FOCUS_SAMPLE)


def test_cur2_parquet_and_csv_gz_encode_identically(tmp_path: Path) -> None:
    table = cur2_table(2500)
    both_ways(write_parquet(table, tmp_path / "p.parquet", row_group_size=1000))
    both_ways(write_csv_gz(table, tmp_path / "p.csv.gz"))


def test_rejected_rows_amortisation_and_odd_cells_encode_identically(tmp_path: Path) -> None:
    header = (
        "lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost,"
        "lineItem/LineItemType,savingsPlan/SavingsPlanEffectiveCost,"
        "reservation/EffectiveCost,reservation/UnusedAmortizedUpfrontFeeForBillingPeriod,"
        "reservation/UnusedRecurringFee,lineItem/ProductCode,resourceTags/user:team,"
        "resourceTags/user:env"
    )
    rows = [
        '111111111111,2023-11-01T00:00:00Z,0.5,Usage,,,,,AmazonEC2,"a ""quoted"" team",prod',
        "111111111111,2023-11-01T00:00:00Z,1.2.3,Usage,,,,,,,",
        "111111111111,not-a-time,1,Usage,,,,,,,",
        ",2023-11-01T00:00:00Z,1,Usage,,,,,,,",
        "111111111111,2023-11-01T00:00:00Z,inf,Usage,,,,,,,",
        "222222222222,2023-11-02T05:00:00+02:00,0.0000025,SavingsPlanCoveredUsage,0.6,,,,,x\\y,",
        "222222222222,2023-11-02T00:00:00Z,-1,SavingsPlanNegation,,,,,,,",
        "222222222222,2023-11-02T00:00:00Z,3,DiscountedUsage,,1.25,,,,,dev",
        "222222222222,2023-11-02T00:00:00Z,0,RIFee,,,-0.0,-0.0,,,",
        "333333333333,2023-11-02T00:00:00,12345678901.5,RIFee,,,2,,NULL,,",
        "333333333333,,1,Usage,,,,,,,",
        "333333333333,2023-11-02T00:00:00Z,,Usage,,,,,,,",
    ]
    path = tmp_path / "odd.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    both_ways(path)


@pytest.mark.parametrize("seed", [1, 2])
def test_floats_match_orjson_over_every_magnitude(seed: int) -> None:
    rng = np.random.default_rng(seed)
    exponents = rng.integers(-320, 308, 100_000).astype(float)
    values = np.concatenate(
        [
            rng.random(100_000) * 10.0**exponents,
            -rng.random(1_000),
            np.round(rng.gamma(0.6, 0.4, 20_000), 8),
            np.round(rng.random(1_000) * 1e6),
            [0.0, -0.0, 1e-7, 1e-6, 1e-5, 1e-4, 1e9, 1e10, 1e16, 1e17],
            [5e-324, 1.7976931348623157e308],
        ]
    )
    values = values[np.isfinite(values)]
    got = json_columns.floats(pa.array(values)).to_pylist()
    assert got == [orjson.dumps(float(v)).decode() for v in values]


def test_strings_match_orjson_for_every_escape() -> None:
    cells = ["plain", 'q"x', "b\\", "\x7f", "é€😀", "\x00\x1f\n\t", "\u2028", "", None]
    got = json_columns.strings(pa.array(cells, pa.string())).to_pylist()
    assert got == [None if c is None else orjson.dumps(c).decode() for c in cells]
    plain = json_columns.strings(pa.array(["a", None], pa.string())).to_pylist()
    assert plain == ['"a"', None]


def test_shares_split_a_file_into_disjoint_parts_that_make_the_whole(tmp_path: Path) -> None:
    accounts = tuple(f"{100000000000 + 7919 * i:012d}" for i in range(12))
    path = write_parquet(cur2_table(3000, accounts=accounts), tmp_path / "p.parquet", 1000)

    def encoded(shares: frozenset[int] | None) -> list[tuple[str, bytes]]:
        opened = open_data_file(path)
        encoder = BatchEncoder(BatchNormaliser(detect(opened.header), opened.header, CTX))
        return [
            pair
            for batch in encoded_batches(encoder, opened, shares)
            for pair in zip(batch.ids, batch.values, strict=True)
        ]

    whole = encoded(None)
    parts = [encoded(frozenset({0, 2, 4})), encoded(frozenset({1, 3, 5}))]
    assert parts[0]
    assert parts[1]
    assert sorted(parts[0] + parts[1]) == sorted(whole)  # same ids, same bytes, none twice


def test_commitment_columns_encode_identically(tmp_path: Path) -> None:
    """RI and Savings Plan arns and costs (legacy, CUR 2.0, FOCUS's CommitmentDiscountId)."""
    both_ways(FIXTURES / "cur" / "legacy_cur_commitments.csv")
    ri, sp = "arn:aws:ec2:us-east-1:1:reserved-instances/r-1", "arn:aws:savingsplans::1:sp/s-1"
    cur2 = pa.table(
        {
            "line_item_usage_account_id": ["1", "1", "1"],
            "line_item_usage_start_date": ["2024-05-01T00:00:00Z"] * 3,
            "line_item_resource_id": ["i-a", "i-b", "i-c"],
            "line_item_unblended_cost": ["0.0", "0.096", "0.5"],
            "line_item_line_item_type": ["DiscountedUsage", "SavingsPlanCoveredUsage", "Usage"],
            "reservation_reservation_a_r_n": [ri, "", ""],
            "reservation_effective_cost": ["0.0603", "0.0", "0.1"],
            "savings_plan_savings_plan_a_r_n": ["", sp, ""],
            "savings_plan_savings_plan_effective_cost": ["0.0", "0.0662", "0.2"],
            "reservation_end_time": ["2025-05-01T00:00:00Z", "", "2025-01-01T00:00:00Z"],
            "savings_plan_end_time": ["", "2027-05-01T00:00:00Z", ""],
        }
    )
    both_ways(write_parquet(cur2, tmp_path / "cur2.parquet", row_group_size=10))
    focus = pa.table(
        {
            "SubAccountId": ["1", "1", "1"],
            "ChargePeriodStart": ["2024-05-01T00:00:00Z"] * 3,
            "BilledCost": ["0.0", "0.0", "1.0"],
            "EffectiveCost": ["0.0603", "0.07", "1.0"],
            "ResourceId": ["i-a", "i-b", "i-c"],
            "ChargeCategory": ["Usage"] * 3,
            "CommitmentDiscountId": [ri, sp, None],
            "CommitmentDiscountType": ["Reservation", "Savings Plan", None],
        }
    )
    both_ways(write_parquet(focus, tmp_path / "focus.parquet", row_group_size=10))
