"""Re-price an assessment at the customer's own rate, and flag a Reserved Instance left unused.

The bill's effective hourly cost (RI and Savings Plan coverage amortised in)
replaces the On-Demand list price of the current type; each option is priced
at the same discount off its own list price, which is how a Savings Plan
discount carries to another size (a close approximation: SP discounts differ a
little by family). When the rate is for another type than the instance runs
now (it was resized since the last delivery), list prices stand.

An RI is paid whether used or not, so moving an RI-covered instance off its
type saves nothing on the bill unless another instance absorbs the RI. The
finding stands; the reason says so and names the RI.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from services.rightsizing.billed_rate import BilledRate
from services.rightsizing.catalogue.model import InstanceType
from services.rightsizing.recommender.policy import HOURS_PER_MONTH

if TYPE_CHECKING:  # findings imports this module
    from services.rightsizing.recommender.findings import Assessment


def discount_factor(rate: BilledRate, list_hourly: float) -> float:
    """Effective / On-Demand, from the bill's own On-Demand equivalent when it has one."""
    on_demand = rate.on_demand_hourly if rate.on_demand_hourly else list_hourly
    return rate.effective_hourly / on_demand if on_demand > 0 else 1.0


def stranded_reservation(a: Assessment, rate: BilledRate, current: InstanceType) -> str | None:
    """The reason text when acting on ``a`` would leave ``rate``'s RI unused, else None."""
    if rate.reservation_arn is None or rate.reserved_share <= 0:
        return None
    if a.finding == "idle":
        action = "stopping or terminating it"
    elif a.finding in ("overprovisioned", "underprovisioned") and a.options:
        best = a.options[0].itype
        # A regional RI applies across sizes of its family: upsizing keeps it in use.
        if a.finding == "underprovisioned" and best.family == current.family:
            return None
        action = f"moving it to {best.name}"
    else:
        return None
    return (
        f"{rate.reserved_share:.0%} of its billed hours are covered by Reserved Instance "
        f"{rate.reservation_arn}; {action} would leave that RI unused unless another "
        f"{current.family} instance (a regional Linux RI is size-flexible within its family) "
        "absorbs it, so the bill falls by less than quoted until the RI ends"
    )


def at_customer_rate(a: Assessment, rate: BilledRate | None, current: InstanceType,
                     list_hourly: float | None) -> Assessment:  # fmt: skip
    """``a`` priced at ``rate`` when it is for the current type (On-Demand list otherwise)."""
    if rate is None or rate.instance_type != current.name or not list_hourly:
        return a
    if a.current_monthly_cost is None:
        return a  # unpriced: the reason already says why; a bill rate alone cannot price options
    factor = discount_factor(rate, list_hourly)
    current_monthly = rate.effective_hourly * HOURS_PER_MONTH
    options = [
        replace(
            o,
            hourly_price=o.hourly_price * factor,
            monthly_cost=o.monthly_cost * factor,
            monthly_savings=current_monthly - o.monthly_cost * factor,
        )
        for o in a.options
    ]
    savings = a.estimated_monthly_savings
    if a.finding == "idle":
        savings = current_monthly
    elif a.finding in ("overprovisioned", "underprovisioned") and options:
        savings = options[0].monthly_savings  # these findings quote their first option
    covered = []
    if rate.reserved_share:
        covered.append(f"{rate.reserved_share:.0%} Reserved Instance")
    if rate.savings_plan_share:
        covered.append(f"{rate.savings_plan_share:.0%} Savings Plan")
    notes = [
        *a.notes,
        f"priced at its effective rate on the bill, ${rate.effective_hourly:.4f}/hour "
        f"({1 - factor:.0%} below On-Demand; hours covered: {', '.join(covered) or 'none'}), "
        "options at the same discount",
    ]
    stranded = stranded_reservation(replace(a, options=options), rate, current)
    if stranded is not None:
        notes.append(stranded)
    return replace(
        a,
        options=options,
        current_monthly_cost=current_monthly,
        estimated_monthly_savings=savings,
        notes=notes,
        price_basis="effective_cur",
        reservation_at_risk=rate.reservation_arn if stranded else None,
    )
