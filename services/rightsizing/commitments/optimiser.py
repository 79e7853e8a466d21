"""The hourly commitment that maximises net savings on an hourly usage curve (pure).

Usage eligible for a commitment is two curves per hour: what it cost On-Demand
(``on_demand[h]``) and what it would cost at the commitment's rate
(``committed[h]``, the same usage priced at the Savings Plan or RI rate). A
commitment of ``c`` $/h is paid every hour; in hour ``h`` it covers
``min(committed[h], c)`` of the usage at its rate, replacing that share of the
On-Demand cost (``on_demand[h] / committed[h]`` dollars per committed dollar,
as if the discount applied evenly across the hour's usage — AWS applies the
deepest discount first, so this is the conservative reading). Net savings

    S(c) = sum_h min(committed[h], c) * on_demand[h] / committed[h]  -  c * H

are concave and piecewise linear in ``c`` with kinks at the hourly values, so
the sweep over those values (Cost Explorer's "commitment levels") finds the
exact optimum: the level at which the share of hours still above it equals
the rate-to-On-Demand ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Outcome:
    """What holding ``commitment`` $/h over the curve's hours would have done."""

    commitment: float
    hours: int
    on_demand_cost: float
    covered_on_demand: float
    used_commitment: float
    net_savings: float

    @property
    def coverage(self) -> float:
        """Share of the On-Demand cost the commitment covered."""
        return self.covered_on_demand / self.on_demand_cost if self.on_demand_cost > 0 else 0.0

    @property
    def utilisation(self) -> float:
        """Share of the commitment that covered usage."""
        paid = self.commitment * self.hours
        return self.used_commitment / paid if paid > 0 else 0.0

    @property
    def discount(self) -> float:
        """The covered usage's discount off On-Demand (1 - rate / On-Demand)."""
        if self.covered_on_demand <= 0:
            return 0.0
        return 1.0 - self.used_commitment / self.covered_on_demand

    @property
    def break_even_utilisation(self) -> float:
        """Below this utilisation the commitment costs more than On-Demand would have."""
        return min(1.0, max(0.0, 1.0 - self.discount)) if self.covered_on_demand > 0 else 1.0

    @property
    def monthly_savings(self) -> float:
        """Net savings per 730-hour month at the curve's average."""
        return self.net_savings / self.hours * HOURS_PER_MONTH if self.hours else 0.0


def _curves(on_demand: np.ndarray, committed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    od = np.asarray(on_demand, dtype=float)
    cm = np.asarray(committed, dtype=float)
    if od.shape != cm.shape or od.ndim != 1:
        raise ValueError("on_demand and committed must be 1-d curves of the same hours")
    if (od < 0).any() or (cm < 0).any() or not (np.isfinite(od).all() and np.isfinite(cm).all()):
        raise ValueError("usage curves must be finite and non-negative")
    return od, cm


def evaluate(commitment: float, on_demand: np.ndarray, committed: np.ndarray) -> Outcome:
    """Holding ``commitment`` $/h over these hours (for hindsight and fixed policies)."""
    od, cm = _curves(on_demand, committed)
    used = np.minimum(cm, commitment)
    ratio = np.divide(od, cm, out=np.zeros_like(od), where=cm > 0)
    covered = float((used * ratio).sum())
    return Outcome(
        commitment=float(commitment),
        hours=int(od.size),
        on_demand_cost=float(od.sum()),
        covered_on_demand=covered,
        used_commitment=float(used.sum()),
        net_savings=covered - float(commitment) * od.size,
    )


def optimise(
    on_demand: np.ndarray, committed: np.ndarray, unit: float = 0.0, min_marginal_use: float = 0.0
) -> Outcome:
    """The commitment with the highest net savings (0 when none saves anything).

    ``unit`` > 0 restricts commitments to whole multiples of it (a Reserved
    Instance is bought per instance: ``unit`` is one instance's hourly rate).
    ``min_marginal_use`` > 0 is a risk margin: the commitment's last dollar (the
    last RI) must have been used in at least that share of the hours. The
    optimum alone buys up to the dollar used just above break-even (a 1-year RI
    busy 62% of the hours), which a slightly lower month leaves idle; the
    margin caps the level at the matching quantile of the hourly curve, and as
    net savings are concave the best level is the lower of the two.
    """
    od, cm = _curves(on_demand, committed)
    if not 0.0 <= min_marginal_use <= 1.0:
        raise ValueError("min_marginal_use must be a share between 0 and 1")
    levels = np.unique(cm[cm > 0])
    if unit > 0:
        levels = np.unique(np.round(levels / unit)) * unit
        levels = levels[levels > 0]
    order = np.argsort(cm)
    cm_sorted = cm[order]
    if min_marginal_use > 0 and levels.size:
        # Used in >= q of the hours: at most the ceil(q * H)-th largest hour.
        cap = float(cm_sorted[cm.size - int(np.ceil(min_marginal_use * cm.size - 1e-9))])
        if unit > 0:
            cap = float(np.floor(cap / unit + 1e-9) * unit)
        levels = np.append(levels[levels < cap], cap) if cap > 0 else levels[:0]
    if levels.size == 0:
        return evaluate(0.0, od, cm)
    od_sorted = np.where(cm_sorted > 0, od[order], 0.0)  # unpriced hours cover nothing
    ratio = np.divide(od_sorted, cm_sorted, out=np.zeros_like(od_sorted), where=cm_sorted > 0)
    # For each level: hours at or below it contribute their whole On-Demand cost;
    # hours above contribute level * their ratio.
    below = np.searchsorted(cm_sorted, levels, side="right")
    od_cum = np.concatenate([[0.0], np.cumsum(od_sorted)])
    ratio_tail = np.concatenate([np.cumsum(ratio[::-1])[::-1], [0.0]])
    savings = od_cum[below] + levels * ratio_tail[below] - levels * od.size
    best = int(np.argmax(savings))
    if savings[best] <= 0:
        return evaluate(0.0, od, cm)
    return evaluate(float(levels[best]), od, cm)
