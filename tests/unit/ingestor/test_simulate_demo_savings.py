"""The simulator's opt-in savings outputs: an RI/SP business unit and followers, as real files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

from shared.ec2_prices import load_prices
from shared.events import Recommendation
from shared.events.recommendations import RightsizeOption
from simulator import SimConfig, simulate_organisation
from simulator.committed_unit import write_committed_unit
from simulator.followers_out import change_day, read_recommendations, write_followers
from tests.unit.ingestor.test_ingest_normalise import normalise

CONFIG = SimConfig(seed=5, accounts=2, days=40, instances=12)


def _rec(
    inst_id: str, account: str, itype: str, finding: str, option: str | None
) -> Recommendation:
    options = []
    if option is not None:
        options = [
            RightsizeOption(
                rank=1,
                instance_type=option,
                vcpu=2,
                memory_gib=4,
                hourly_price=0.05,
                projected_cpu_pct=40.0,
                monthly_cost=36.5,
                monthly_savings=10.0,
                performance_risk=1.0,
                migration_effort="low",
            )
        ]
    return Recommendation(
        id=f"rec-{inst_id}",
        resource_id=inst_id,
        account_id=account,
        region="us-east-1",
        current_type=itype,
        finding=finding,
        reason="test",
        lookback_days=14,
        cpu_percentile=5.0,
        memory_measured=False,
        hours_observed=336,
        current_monthly_cost=50.0,
        options=options,
        generated_at=datetime(2026, 7, 11, tzinfo=UTC),
    )


def test_the_committed_unit_bills_its_own_accounts_with_commitments(tmp_path: Path) -> None:
    org = simulate_organisation(CONFIG)
    taken = [a.account_id for a in org.accounts]
    unit = write_committed_unit(CONFIG, taken, tmp_path, days=10)
    assert len(unit.accounts) == 2
    assert not set(unit.accounts) & set(taken)
    [data] = list(tmp_path.glob("exports/committed-unit/data/*/*.parquet"))
    items, rejected = normalise(data)
    assert rejected == []
    kinds = {i["line_item_type"] for i in items}
    assert {"DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanRecurringFee"} <= kinds
    first = min(i["usage_start"] for i in items)
    assert str(first)[:10] == "2026-07-01"  # the window's last 10 days (June 1 + 40 days)
    prices = load_prices(unit.prices)
    assert all(r.compute_sp_1y_no_upfront is not None for _, r in prices.items())


def test_followers_change_type_or_vanish_and_bill_only_after_the_change(tmp_path: Path) -> None:
    org = simulate_organisation(CONFIG)
    first, second = org.instances[0], org.instances[1]
    recs = {
        first.instance_id: _rec(
            first.instance_id, first.account_id, first.instance_type, "overprovisioned", "t3.small"
        ),
        second.instance_id: _rec(
            second.instance_id, second.account_id, second.instance_type, "idle", None
        ),
    }
    lines = [
        orjson.dumps(r.model_dump(mode="json") | {"state": {"status": "open"}})
        for r in recs.values()
    ]
    truth = write_followers(org, read_recommendations(lines), tmp_path, share=1.0)
    assert {f["kind"] for f in truth["followers"]} == {"type_change", "terminated"}
    inventory = {
        r["instance_id"]: r
        for r in map(orjson.loads, (tmp_path / "inventory.jsonl").read_bytes().splitlines())
    }
    assert len(inventory) == len(org.instances) - 1
    assert second.instance_id not in inventory
    assert inventory[first.instance_id]["instance_type"] == "t3.small"
    [data] = list(tmp_path.glob("exports/followers/data/*/*.parquet"))
    items, rejected = normalise(data)
    assert rejected == []
    assert {i["resource_id"] for i in items} == {first.instance_id}
    assert {i["instance_type"] for i in items} == {"t3.small"}
    change = datetime.fromisoformat(truth["change_day"]).replace(tzinfo=UTC)
    assert min(datetime.fromisoformat(str(i["usage_start"])) for i in items) == change
    assert len(items) == 14 * 24
    [row] = [f for f in truth["followers"] if f["kind"] == "type_change"]
    after = items[0]["unblended_cost"]
    assert row["truth_realised_monthly"] == pytest.approx(
        (first.usd_per_hour - after) * 730, abs=1e-3
    )


@pytest.mark.parametrize(
    ("last", "monday"),
    [(date(2026, 8, 29), date(2026, 9, 7)), (date(2026, 6, 10), date(2026, 6, 15))],
)
def test_the_change_is_a_monday_whose_two_measured_weeks_share_its_month(
    last: date, monday: date
) -> None:
    assert change_day(last) == monday
