"""The simulator's followers: what they bill after the change is what their truth says."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.events import CostLineItem
from simulator.implementations import (
    HOURS_PER_MONTH,
    Followed,
    _with_drift,
    delivery,
    inventory_change,
)

OFFICE = frozenset(d * 24 + h for d in range(5) for h in range(8, 18))


def _followed(kind: str, run_hours: frozenset[int] | None, after: float) -> Followed:
    return Followed(
        "i-1",
        "111111111111",
        "us-east-1",
        kind,
        "m5.xlarge",
        "m5.large" if kind == "type_change" else None,
        0.192,
        after,
        run_hours,
        0.0,
        "rec-1",
    )


def test_drift_keeps_each_weekday_running_longer_and_weekends_off() -> None:
    drifted = _with_drift(OFFICE, 2)
    assert len(drifted) == len(OFFICE) + 10
    assert {18, 19} <= drifted
    assert not any(h // 24 >= 5 for h in drifted)


def test_the_billed_hours_after_the_change_are_the_truths_hours() -> None:
    f = _followed("schedule", _with_drift(OFFICE, 1), 0.192)
    start, change, end = date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)
    lines = [e for e in delivery([f], start, change, end, "a") if isinstance(e, CostLineItem)]
    after = [x for x in lines if x.usage_start >= datetime(2026, 3, 9, tzinfo=UTC)]
    assert len(lines) - len(after) == 7 * 24  # before the change: every hour
    assert len(after) == 55  # one week of 10 office hours + 1 hour drift, 5 days
    billed_month = sum(x.amortized_cost or 0 for x in after) * HOURS_PER_MONTH / 168
    assert f.truth_realised_monthly == pytest.approx(0.192 * HOURS_PER_MONTH - billed_month)


def test_a_type_change_bills_the_new_type_from_the_change() -> None:
    f = _followed("type_change", None, 0.096)
    events = delivery([f], date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), "a")
    types = [e.instance_type for e in events if isinstance(e, CostLineItem)]
    assert types == ["m5.xlarge"] * 24 + ["m5.large"] * 24
    assert f.truth_realised_monthly == pytest.approx(0.096 * HOURS_PER_MONTH)


def test_a_schedule_first_stops_in_its_first_off_hour_and_termination_deletes() -> None:
    monday = datetime(2026, 3, 9, tzinfo=UTC)
    late_start = frozenset(range(0, 3)) | OFFICE
    stop = inventory_change(_followed("schedule", late_start, 0.192), monday)
    assert (stop.state, stop.observed_at.hour) == ("stopped", 3)
    gone = inventory_change(_followed("terminated", None, 0.0), monday)
    assert gone.deleted
    assert gone.state == "terminated"
