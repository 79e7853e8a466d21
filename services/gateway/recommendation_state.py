"""What a person decided about a recommendation, and when a re-publication undoes it (pure).

Right-sizing re-publishes every instance's recommendation on each evaluation,
mostly with the same content. A person who accepted or dismissed it must not
see it again for that: the decision stays. It lapses (the recommendation is
``open`` again, with the reason recorded) only when the recommendation changed
materially since the decision:

* its finding changed (over-provisioned -> idle, or a regression);
* the recommended action changed (another target type, or stop/schedule instead);
* its monthly savings grew by more than :data:`SAVINGS_GROWTH_LAPSE` over the
  savings the person saw (smaller savings never revive a dismissal).

A snooze ignores content and lapses by time alone: after ``snoozed_until`` the
recommendation reads as ``open`` (computed at read time, nothing rewritten).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

State = Literal["open", "accepted", "dismissed", "snoozed"]
STATES: tuple[State, ...] = ("open", "accepted", "dismissed", "snoozed")
DismissReason = Literal[
    "not_applicable",
    "performance_risk",
    "workload_will_grow",
    "licensing_or_platform",
    "managed_elsewhere",
    "already_done",
    "other",
]
# Savings estimates from a 14-day lookback wander by a few percent between
# evaluations (the percentile moves with the window); a quarter more money is
# a different proposal, worth asking again about.
SAVINGS_GROWTH_LAPSE = 0.25
# States a content change can undo; a snooze lapses by time only.
DECIDED: tuple[State, ...] = ("accepted", "dismissed")


@dataclass(frozen=True)
class Proposal:
    """The parts of a recommendation a decision was about."""

    finding: str
    action: str
    savings: float

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Proposal:
        """From a stored recommendation payload.

        >>> Proposal.of({"finding": "idle", "options": [], "estimated_monthly_savings": 9.0})
        Proposal(finding='idle', action='stop', savings=9.0)
        """
        return cls(
            payload["finding"], recommended_action(payload), payload["estimated_monthly_savings"]
        )


def recommended_action(payload: dict[str, Any]) -> str:
    """What the recommendation asks for: a target type, ``schedule``, ``stop`` or ``none``.

    >>> recommended_action({"options": [{"instance_type": "c7g.large"}]})
    'c7g.large'
    >>> recommended_action({"finding": "optimized", "options": [], "schedule": {"run_hours": []}})
    'schedule'
    """
    options = payload.get("options") or []
    if options:
        return str(options[0]["instance_type"])
    if payload.get("schedule"):
        return "schedule"
    return "stop" if payload.get("finding") == "idle" else "none"


def lapse_reason(decided: Proposal, current: Proposal) -> str | None:
    """Why ``current`` undoes a decision made on ``decided``; None if it does not.

    >>> seen = Proposal("overprovisioned", "m5.large", 100.0)
    >>> lapse_reason(seen, Proposal("overprovisioned", "m5.large", 120.0)) is None
    True
    >>> lapse_reason(seen, Proposal("overprovisioned", "m5.large", 130.0))
    'monthly savings grew from $100.00 to $130.00 (+30%)'
    >>> lapse_reason(seen, Proposal("idle", "stop", 140.0))
    'finding changed from overprovisioned to idle'
    """
    if current.finding != decided.finding:
        return f"finding changed from {decided.finding} to {current.finding}"
    if current.action != decided.action:
        return f"recommended action changed from {decided.action} to {current.action}"
    if current.savings > decided.savings * (1 + SAVINGS_GROWTH_LAPSE) and current.savings > 0:
        growth = (
            f"+{current.savings / decided.savings - 1:.0%}" if decided.savings > 0 else "from none"
        )
        return (
            f"monthly savings grew from ${decided.savings:,.2f} "
            f"to ${current.savings:,.2f} ({growth})"
        )
    return None
