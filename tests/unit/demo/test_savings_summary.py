"""The demo's savings tables: the top purchase over every account, realised totals as served."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from demo.savings import Realised, best_purchase, render_commitments, render_realised


def _buy(product: str, monthly: float, **extra: Any) -> dict[str, Any]:
    return {
        "product": product,
        "term_years": 1,
        "payment_option": "no_upfront",
        "lookback_days": 7,
        "hourly_commitment": 1.25,
        "estimated_monthly_savings": monthly,
        "projected_coverage": 0.9,
        "projected_utilisation": 0.97,
        **extra,
    }


def _report(account: str, buys: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "account_id": account,
        "window_start": "2026-08-16T00:00:00Z",
        "window_end": "2026-08-30T00:00:00Z",
        "eligible_on_demand": 2000.0,
        "savings_plan_coverage": 0.45,
        "reservation_coverage": 0.05,
        "coverage": 0.5,
        "utilisation": 0.71,
        "commitments": [{}, {}],
        "recommendations": buys,
        "best_monthly_savings": max((b["estimated_monthly_savings"] for b in buys), default=0.0),
    }


def _text(draw: Any, *args: Any) -> str:
    out = io.StringIO()
    draw(*args, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def test_the_top_purchase_is_the_largest_monthly_saving_over_every_account() -> None:
    reports = [
        _report("111", [_buy("compute_sp", 300.0)]),
        _report("222", [_buy("standard_ri", 950.0, instance_type="m5.large", region="us-east-1")]),
    ]
    top = best_purchase(reports)
    assert top is not None
    assert (top["account_id"], top["product"]) == ("222", "standard_ri")
    text = _text(render_commitments, reports)
    assert "Top purchase: Standard RI (m5.large us-east-1) in 222" in text
    assert "net $950/month" in text
    assert "71%" in text


def test_no_purchase_says_so() -> None:
    assert best_purchase([_report("111", [])]) is None
    assert "No commitment to buy" in _text(render_commitments, [_report("111", [])])


def test_realised_totals_are_the_gateways() -> None:
    row = {
        "resource_id": "i-1",
        "account_id": "111",
        "kind": "type_change",
        "from_type": "m5.xlarge",
        "to_type": "m5.large",
        "estimated_monthly_savings": 70.0,
        "before_monthly_cost": 140.0,
        "after_monthly_cost": 70.0,
        "realised_monthly_savings": 70.08,
    }
    totals = {
        "implemented": 2,
        "measured": 1,
        "estimated_monthly_savings": 131.0,
        "measured_estimated_monthly_savings": 70.0,
        "realised_monthly_savings": 70.08,
    }
    pending = dict(row, resource_id="i-2", realised_monthly_savings=None, after_monthly_cost=None)
    text = _text(
        render_realised, Realised([row, pending], totals), {"truth_realised_monthly": 70.1}
    )
    assert "1/2 measured" in text
    assert "truly saved $70/month" in text
    [total] = [line for line in text.splitlines() if "total" in line and "measured" in line]
    assert "$70" in total
