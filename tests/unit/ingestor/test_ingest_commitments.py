"""Commitment coverage (RI and Savings Plan) carried from CUR, CUR 2.0 and FOCUS rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from services.ingestor.cur.formats import detect
from services.ingestor.cur.normalise import BatchNormaliser
from shared.events import CostLineItem
from tests.fixtures.cur.builders import FIXTURES, FOCUS_SAMPLE
from tests.unit.ingestor.test_ingest_encode import both_ways, write_parquet
from tests.unit.ingestor.test_ingest_normalise import CTX, normalise

RI = "arn:aws:ec2:us-east-1:111111111111:reserved-instances/11111111-aaaa-bbbb-cccc-000000000001"
SP = "arn:aws:savingsplans::111111111111:savingsplan/22222222-aaaa-bbbb-cccc-000000000002"
COMMITMENT_FIELDS = (
    "line_item_type",
    "resource_id",
    "reservation_arn",
    "reservation_effective_cost",
    "savings_plan_arn",
    "savings_plan_effective_cost",
    "amortized_cost",
)


def _fields(item: dict) -> tuple:
    event = CostLineItem.model_validate(item)
    return tuple(getattr(event, f) for f in COMMITMENT_FIELDS)


def test_legacy_rows_name_the_covering_commitment_and_its_cost() -> None:
    items, rejected = normalise(FIXTURES / "cur" / "legacy_cur_commitments.csv")
    assert rejected == []
    assert [_fields(i) for i in items] == [
        ("DiscountedUsage", "i-0000000000000000a", RI, 0.0603, None, None, 0.0603),
        ("RIFee", None, RI, None, None, None, 0.0),
        ("SavingsPlanCoveredUsage", "i-0000000000000000b", None, None, SP, 0.0662, 0.0662),
        ("SavingsPlanNegation", "i-0000000000000000b", None, None, SP, None, 0.0),
        ("Usage", "i-0000000000000000c", None, None, None, None, 0.096),
    ]


def test_cur2_columns_map_to_the_same_fields() -> None:
    table = pa.table(
        {
            "line_item_usage_account_id": ["1", "1"],
            "line_item_usage_start_date": ["2024-05-01T00:00:00Z"] * 2,
            "line_item_resource_id": ["i-a", "i-b"],
            "line_item_unblended_cost": ["0.0", "0.096"],
            "line_item_line_item_type": ["DiscountedUsage", "SavingsPlanCoveredUsage"],
            "reservation_reservation_a_r_n": [RI, ""],
            "reservation_effective_cost": ["0.0603", "0.0"],
            "savings_plan_savings_plan_a_r_n": ["", SP],
            "savings_plan_savings_plan_effective_cost": ["0.0", "0.0662"],
        }
    )
    normaliser = BatchNormaliser(detect(table.column_names), table.column_names, CTX)
    out = list(normaliser.rows(table.to_batches()[0], 1))
    assert [_fields(o)[1:6] for o in out] == [
        ("i-a", RI, 0.0603, None, None),
        ("i-b", None, None, SP, 0.0662),
    ]


def test_focus_commitment_id_goes_to_the_field_its_type_names() -> None:
    items, _ = normalise(FOCUS_SAMPLE)
    covered = [i for i in items if i["savings_plan_arn"]]
    assert len(covered) == 4
    assert all(i["savings_plan_arn"].startswith("arn:aws:savingsplans::") for i in covered)
    assert all(i["savings_plan_effective_cost"] == i["amortized_cost"] for i in covered)
    assert not any(i["reservation_arn"] for i in items)
    table = pa.table(
        {
            "SubAccountId": ["1"],
            "ChargePeriodStart": ["2024-05-01T00:00:00Z"],
            "BilledCost": ["0.0"],
            "EffectiveCost": ["0.0603"],
            "ResourceId": ["i-a"],
            "ChargeCategory": ["Usage"],
            "CommitmentDiscountId": [RI],
            "CommitmentDiscountType": ["Reservation"],
        }
    )
    normaliser = BatchNormaliser(detect(table.column_names), table.column_names, CTX)
    (out,) = normaliser.rows(table.to_batches()[0], 1)
    assert _fields(out)[1:6] == ("i-a", RI, 0.0603, None, None)


def test_a_commitments_end_comes_from_its_own_kinds_end_time() -> None:
    """RI rows carry the RI's EndTime, SP rows the plan's; on-demand rows none (an end
    time in a column of the other kind is not theirs)."""
    table = pa.table(
        {
            "line_item_usage_account_id": ["1", "1", "1"],
            "line_item_usage_start_date": ["2024-05-01T00:00:00Z"] * 3,
            "line_item_unblended_cost": ["0.0", "0.0", "0.096"],
            "line_item_line_item_type": ["DiscountedUsage", "SavingsPlanCoveredUsage", "Usage"],
            "reservation_reservation_a_r_n": [RI, "", ""],
            "savings_plan_savings_plan_a_r_n": ["", SP, ""],
            "reservation_end_time": ["2025-05-01T00:00:00Z", "2030-01-01T00:00:00Z", ""],
            "savings_plan_end_time": ["", "2027-05-01T00:00:00Z", "2030-01-01T00:00:00Z"],
        }
    )
    normaliser = BatchNormaliser(detect(table.column_names), table.column_names, CTX)
    out = [CostLineItem.model_validate(o) for o in normaliser.rows(table.to_batches()[0], 1)]
    assert [o.commitment_end for o in out] == [
        datetime(2025, 5, 1, tzinfo=UTC),
        datetime(2027, 5, 1, tzinfo=UTC),
        None,
    ]


def test_simulated_ri_and_savings_plan_lines_read_back_through_the_ingestor(
    tmp_path: Path,
) -> None:
    """The simulator's CUR 2.0 table of RI/SP lines gives the ingestor exactly its lines,
    amortised costs (RIFee from the unused fee columns) and term ends included."""
    from datetime import date

    from simulator import SimConfig, simulate_organisation
    from simulator.commitment_cur import cur2_table
    from simulator.commitment_lines import delivery_events
    from simulator.commitments import build_world

    org = simulate_organisation(SimConfig(seed=4, accounts=2, days=30, instances=24))
    world = build_world(org.fleet, date(2024, 5, 1), 2, seed=4)
    sent = [
        e
        for account in sorted({m.account_id for m in world.members})
        for e in delivery_events(world, account, 0, 48, f"a-{account}")
        if isinstance(e, CostLineItem)
    ]
    kinds = {e.line_item_type for e in sent}
    assert {"Usage", "DiscountedUsage", "RIFee", "SavingsPlanCoveredUsage",
            "SavingsPlanNegation", "SavingsPlanRecurringFee"} <= kinds  # fmt: skip
    table = cur2_table(sent)
    normaliser = BatchNormaliser(detect(table.column_names), table.column_names, CTX)
    batch = table.combine_chunks().to_batches()[0]
    read = [CostLineItem.model_validate(o) for o in normaliser.rows(batch, 0)]
    fields = (*COMMITMENT_FIELDS, "commitment_end", "list_cost", "usage_amount", "unblended_cost")
    assert [tuple(getattr(e, f) for f in fields) for e in read] == [
        tuple(getattr(e, f) for f in fields) for e in sent
    ]
    both_ways(write_parquet(table, tmp_path / "commitments.parquet", row_group_size=500))
