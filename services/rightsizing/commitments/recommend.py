"""Purchase recommendations: the hourly commitment with the most net savings on each lookback.

Each product is computed alone on the On-Demand usage no commitment covered,
as Cost Explorer does: the recommendations are alternatives, not additive.
Rates come from the price file (``shared.ec2_prices``); a product, term or
payment option it has no rate for is listed as unpriced with the reason, and
usage of a type without a rate is left out and its On-Demand cost reported
(``unpriced_on_demand``), never priced from another type, region or OS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from services.rightsizing.commitments.optimiser import Outcome, optimise
from services.rightsizing.commitments.usage import AccountUsage, UsageKey
from shared.ec2_prices import PriceTable, Rates
from shared.events.commitments import (
    PaymentOption,
    Product,
    PurchaseRecommendation,
    UnpricedProduct,
)

LOOKBACK_CHOICES = (7, 30, 60)  # Cost Explorer's
TERMS = (1, 3)
PAYMENT_OPTIONS: tuple[PaymentOption, ...] = ("no_upfront", "partial_upfront", "all_upfront")
# The price file's columns per (product, term); all no-upfront.
RATE_FIELDS: dict[tuple[Product, int], str] = {
    ("compute_sp", 1): "compute_sp_1y_no_upfront",
    ("compute_sp", 3): "compute_sp_3y_no_upfront",
    ("standard_ri", 1): "ri_1y_no_upfront",
    ("standard_ri", 3): "ri_3y_no_upfront",
}
# At most this many RI purchases per term and lookback (the largest savings first).
MAX_RI_RECOMMENDATIONS = 20
# Risk margin per product: the purchase maximises net savings on the lookback
# among commitments whose last dollar (last RI) was used in at least this share
# of the lookback's hours. Without it an RI is bought up to the instance busy
# just above break-even (~62% of hours for a 1-year RI), and next month's small
# dips leave it idle. Chosen on the validation seeds of ``make eval-commitments``
# only (docs/commitments-eval.md): the lowest value on a grid that held
# utilisation >= 95% and >= 90% of hindsight on every validation row.
MIN_MARGINAL_USE: dict[Product, float] = {"compute_sp": 0.0, "standard_ri": 0.65}
REFRESH = "run `spendstream rightsizing prices refresh`"


@dataclass(frozen=True)
class Curves:
    """Hourly uncovered On-Demand usage of a lookback: hours axis and per-key arrays."""

    hours: np.ndarray
    on_demand: dict[UsageKey, tuple[np.ndarray, np.ndarray]]  # key -> (instance hours, cost)
    eligible: float = 0.0  # On-Demand-equivalent cost of every instance hour of the window
    covered: float = 0.0  # the part held commitments already covered

    def projected_coverage(self, outcome: Outcome) -> float:
        """Coverage of all the window's usage had the purchase been held too."""
        if self.eligible <= 0:
            return min(1.0, outcome.coverage)
        return min(1.0, (self.covered + outcome.covered_on_demand) / self.eligible)

    @classmethod
    def of(cls, usage: AccountUsage, first: int, last: int) -> Curves:
        """Hours ``first..last`` inclusive (missing hours are zero usage)."""
        hours = np.arange(first, last + 1)
        out: dict[UsageKey, tuple[np.ndarray, np.ndarray]] = {}
        for key, cells in usage.on_demand.items():
            count, cost = np.zeros(hours.size), np.zeros(hours.size)
            for hour, (n, od) in cells.items():
                if first <= hour <= last:
                    count[hour - first] += n
                    cost[hour - first] += od
            if cost.any():
                out[key] = (count, cost)

        def window(values: dict[int, float]) -> float:
            return sum(v for h, v in values.items() if first <= h <= last)

        covered = window(usage.sp_covered) + window(usage.ri_covered)
        return cls(hours, out, window(usage.eligible), covered)


def _rate(table: PriceTable, key: UsageKey, field: str) -> float | None:
    rates: Rates | None = table.get(*key)
    value = getattr(rates, field) if rates is not None else None
    return value if value is not None and value > 0 else None


def _recommendation(
    product: Product,
    term: int,
    lookback: int,
    outcome: Outcome,
    curves: Curves,
    unpriced: float,
    **where: object,
) -> PurchaseRecommendation:
    return PurchaseRecommendation(
        product=product,
        term_years=term,
        payment_option="no_upfront",
        lookback_days=lookback,
        hourly_commitment=round(outcome.commitment, 6),
        discount=outcome.discount,
        on_demand_cost=outcome.on_demand_cost,
        unpriced_on_demand=unpriced,
        net_savings=outcome.net_savings,
        estimated_monthly_savings=outcome.monthly_savings,
        projected_coverage=curves.projected_coverage(outcome),
        projected_utilisation=min(1.0, outcome.utilisation),
        break_even_utilisation=outcome.break_even_utilisation,
        **where,
    )


def compute_sp_curve(
    curves: Curves, table: PriceTable, field: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """(On-Demand cost, cost at the plan's rates, On-Demand cost without a rate) per hour."""
    od = np.zeros(curves.hours.size)
    committed = np.zeros(curves.hours.size)
    unpriced = 0.0
    for key, (count, cost) in curves.on_demand.items():
        rate = _rate(table, key, field)
        if rate is None:
            unpriced += float(cost.sum())
            continue
        od += cost
        committed += count * rate
    return od, committed, unpriced


def recommend(
    usage: AccountUsage,
    table: PriceTable,
    lookbacks: tuple[int, ...],
    newest_hour: int,
    min_marginal_use: Mapping[Product, float] | None = None,
) -> list[PurchaseRecommendation]:
    """Recommendations per product, term and lookback that has enough history.

    ``min_marginal_use`` overrides the per-product risk margin (``MIN_MARGINAL_USE``).
    """
    floors = MIN_MARGINAL_USE if min_marginal_use is None else min_marginal_use
    # History starts at the first billed instance hour, covered or not.
    first_hour = min(usage.eligible, default=newest_hour)
    out: list[PurchaseRecommendation] = []
    for lookback in lookbacks:
        first = newest_hour - lookback * 24 + 1
        if first < first_hour:
            continue  # not enough history for this lookback yet
        curves = Curves.of(usage, first, newest_hour)
        for (product, term), field in RATE_FIELDS.items():
            if product == "compute_sp":
                od, committed, left_out = compute_sp_curve(curves, table, field)
                if committed.any():
                    outcome = optimise(od, committed, min_marginal_use=floors.get(product, 0.0))
                    if outcome.commitment > 0:
                        out.append(
                            _recommendation(product, term, lookback, outcome, curves, left_out)
                        )
            else:
                floor = floors.get("standard_ri", 0.0)
                out += _reserved(curves, table, field, term, lookback, floor)
    return out


def _reserved(
    curves: Curves, table: PriceTable, field: str, term: int, lookback: int, floor: float
) -> list[PurchaseRecommendation]:
    found: list[PurchaseRecommendation] = []
    for key, (count, cost) in curves.on_demand.items():
        rate = _rate(table, key, field)
        if rate is None:
            continue
        outcome = optimise(cost, count * rate, unit=rate, min_marginal_use=floor)
        if outcome.commitment <= 0:
            continue
        region, os, _tenancy, itype = key
        found.append(
            _recommendation(
                "standard_ri",
                term,
                lookback,
                outcome,
                curves,
                0.0,
                region=region,
                instance_type=itype,
                operating_system=os,
                quantity=round(outcome.commitment / rate),
            )
        )
    found.sort(key=lambda r: -r.net_savings)
    return found[:MAX_RI_RECOMMENDATIONS]


def unpriced_products(table: PriceTable) -> list[UnpricedProduct]:
    """Every product, term and payment option ``table`` holds no rates for, with why."""
    out = [
        UnpricedProduct(
            product="ec2_instance_sp",
            term_years=term,
            payment_option=payment,
            reason="no EC2 Instance Savings Plans rates: the price file holds Compute "
            "Savings Plans and standard RI no-upfront rates only",
        )
        for term in TERMS
        for payment in PAYMENT_OPTIONS
    ]
    for (product, term), field in RATE_FIELDS.items():
        have = any(getattr(r, field) is not None for _, r in table.items())
        for payment in PAYMENT_OPTIONS:
            if payment != "no_upfront":
                reason = f"no {payment.replace('_', ' ')} rates in the price file"
            elif not have:
                reason = f"no {field} rates in the price file; {REFRESH}"
            else:
                continue
            out.append(UnpricedProduct(product=product, term_years=term, payment_option=payment,
                                       reason=reason))  # fmt: skip
    return out
