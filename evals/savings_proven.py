"""Savings proven, scored: followers from ``simulator.implementations`` through the service's path.

The service's own functions run in order, without a broker: a month-to-date
CUR delivery before the change sets each instance's billed rate
(``RateLearner`` -> ``apply_rate``), the inventory change is detected against
the memo of the published recommendation (``detect``), and a later delivery
measures the cost after (``measure``). Two errors are reported: the measured
realised saving against the simulated bill's truth (does the measurement
work?), and the recommendation's estimate against that bill (the issue's goal,
within +-10%).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.rightsizing.evaluate import Outcome
from services.rightsizing.intake import apply_inventory, apply_rate
from services.rightsizing.rates import RateLearner
from services.rightsizing.savings import detect, measure, memo_of, to_event
from services.rightsizing.sketches import InstanceState
from simulator.implementations import delivery, follow, inventory_change
from simulator.organisation import SimulatedOrg

SHARE = 0.3  # of the instances with a priced recommendation, how many act on it
START = date(2026, 3, 2)  # a Monday; the change a week later, measured two weeks after
CHANGE = START + timedelta(days=7)
END = CHANGE + timedelta(days=14)
GOAL = 0.10


def _ratio_error(ours: float, truth: float) -> float | None:
    return None if abs(truth) < 1e-9 else ours / truth - 1.0


def _abs_errors(pairs: Iterable[tuple[float, float]]) -> list[float]:
    """|ours / truth - 1| for each pair with a truth."""
    out = []
    for ours, truth in pairs:
        error = _ratio_error(ours, truth)
        if error is not None:
            out.append(abs(error))
    return out


def score_savings(org: SimulatedOrg, outcomes: Iterable[Outcome], seed: int) -> dict[str, Any]:
    """Follow, bill, detect, measure and score one seed's recommendations."""
    recs = {}
    for o in outcomes:
        rec = o.recommendation()
        actionable = rec is not None and (
            rec.finding == "idle" or rec.schedule is not None or bool(rec.options)
        )
        if actionable and rec is not None and rec.current_monthly_cost is not None:
            recs[o.resource_id] = rec
    followed = follow(org.instances, recs, SHARE, seed)
    states = {
        f.instance_id: InstanceState(
            f.instance_id,
            account_id=f.account_id,
            region=f.region,
            instance_type=f.from_type,
            memo=memo_of(recs[f.instance_id]),
        )
        for f in followed
    }
    learner = RateLearner()

    def feed(events: list[Any]) -> None:
        for event in events:
            for rate in learner.on_event(event, 0):
                state = states[rate.resource_id]
                if apply_rate(state, rate) and state.implementation is not None:
                    assert state.rate is not None
                    measure(state.implementation, state.rate)

    feed(delivery(followed, START, CHANGE, CHANGE, "before"))
    change_at = datetime(CHANGE.year, CHANGE.month, CHANGE.day, tzinfo=UTC)
    for f in followed:
        state = states[f.instance_id]
        item = inventory_change(f, change_at)
        state.implementation = detect(state.memo, state.instance_type, state.rate, item)
        apply_inventory(state, item)
    feed(delivery(followed, START, CHANGE, END, "after"))
    now = datetime(END.year, END.month, END.day, tzinfo=UTC)
    rows = []
    for f in followed:
        state = states[f.instance_id]
        record = state.implementation
        event = (
            None if record is None else to_event(record, f.instance_id, f.account_id, f.region, now)
        )
        rows.append((f, event))
    return _summary(rows)


def _summary(rows: list[tuple[Any, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"kinds": {}}
    kinds = sorted({f.kind for f, _ in rows})
    for kind in [*kinds, "all"]:
        mine = [(f, e) for f, e in rows if kind in ("all", f.kind)]
        detected = [(f, e) for f, e in mine if e is not None and e.kind == f.kind]
        measured = [(f, e) for f, e in detected if e.realised_monthly_savings is not None]
        errors = _abs_errors(
            (e.realised_monthly_savings, f.truth_realised_monthly) for f, e in measured
        )
        truth = sum(f.truth_realised_monthly for f, _ in measured)
        estimate = sum(f.estimated_monthly_savings for f, _ in measured)
        per = _abs_errors(
            (f.estimated_monthly_savings, f.truth_realised_monthly) for f, _ in measured
        )
        out["kinds"][kind] = {
            "followed": len(mine),
            "detected": len(detected),
            "measured": len(measured),
            "measurement_error_max": max(errors, default=None),
            "measurement_error_median": statistics.median(errors) if errors else None,
            "realised_truth": round(truth, 2),
            "realised_measured": round(sum(e.realised_monthly_savings for _, e in measured), 2),
            "estimated": round(estimate, 2),
            "estimate_error": _ratio_error(estimate, truth),
            "within_10pct_share": (sum(x <= GOAL for x in per) / len(per)) if per else None,
        }
    return out
