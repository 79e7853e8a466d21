from datetime import date, timedelta

from services.anomaly.cost.account_state import AccountState
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from shared.events import DeliveryCompleted
from tests.unit.anomaly.cur_events import NOW, delivery

DAY = date(2024, 1, 1)


def apply(state: AccountState, events: list):
    book = FeedbackBook(FeedbackConfig())
    outs = [state.on_event(e, book, NOW) for e in events]
    return outs[-1], outs


def days(n: int, cost: float = 100.0, bump: dict[int, float] | None = None) -> dict:
    bump = bump or {}
    return {DAY + timedelta(days=i): {("EC2", "Box"): cost + bump.get(i, 0.0)} for i in range(n)}


def test_completed_attempt_publishes_points_for_every_level_and_hour() -> None:
    state = AccountState("1")
    out, _ = apply(state, delivery("1", "a1", days(2)))
    daily = {(p.series_id, p.period_start.date()) for p in out.points if p.granularity == "daily"}
    assert ("daily/1", DAY) in daily
    assert ("daily/1/EC2", DAY) in daily
    assert ("daily/1/EC2/Box", DAY) in daily
    hourly = [p for p in out.points if p.granularity == "hourly"]
    assert {p.series_id for p in hourly} == {"hourly/1", "hourly/1/EC2"}


def test_incomplete_attempt_is_dropped_and_previous_values_stand() -> None:
    state = AccountState("1")
    apply(state, delivery("1", "a1", days(3)))
    out, _ = apply(state, delivery("1", "a2", days(3, cost=500.0), drop=1))
    assert out.rejected is not None
    assert out.points == []
    assert state.accumulator.day_values(DAY)[("EC2", "Box")] == 100.0


def test_replayed_completion_changes_nothing() -> None:
    state = AccountState("1")
    events = delivery("1", "a1", days(3))
    apply(state, events)
    out, _ = apply(state, events)
    assert out.points == []
    assert out.anomalies == []


def test_later_delivery_supersedes_and_reports_restatement_of_judged_days() -> None:
    state = AccountState("1")
    apply(state, delivery("1", "a1", days(5)))
    assert state.engine.last_day == DAY + timedelta(days=3)  # the latest day is not complete
    out, _ = apply(state, delivery("1", "a2", days(6, bump={1: 80.0})))
    restated = {(r.series_id, r.period_start.date()) for r in out.restated}
    assert ("daily/1/EC2/Box", DAY + timedelta(days=1)) in restated
    point = next(
        p
        for p in out.points
        if p.series_id == "daily/1" and p.period_start.date() == DAY + timedelta(days=1)
    )
    assert point.cost == 180.0
    assert point.attempt_id == "a2"
    assert state.engine.last_day == DAY + timedelta(days=4)


def test_monthly_charges_are_published_but_not_detected() -> None:
    state = AccountState("1")
    events = delivery("1", "t1", {DAY: {("EC2", ""): 999.0}}, line_item_type="Tax")
    started, *items, done = events
    more = delivery("1", "t1", days(3))
    _, *usage, _ = more
    combined = [
        started,
        *items,
        *usage,
        DeliveryCompleted(**{**done.model_dump(), "row_count": len(items) + len(usage)}),
    ]
    out, _ = apply(state, combined)
    assert any(p.series_id == "daily/1/EC2/-" for p in out.points)
    assert "daily/1/EC2/-" not in state.engine.series


def test_only_recent_billing_periods_are_kept() -> None:
    from services.anomaly.cost.accumulator import BILLING_PERIODS_KEPT, AccountAccumulator

    acc = AccountAccumulator("1")
    for month in range(1, 6):
        period = date(2024, month, 1)
        acc.add_line_item(f"a{month}", period, period, "EC2", "Box", "r", None, 1.0)
        assert acc.complete(f"a{month}", period, row_count=1).accepted
    assert sorted(acc.applied) == [date(2024, m, 1) for m in range(6 - BILLING_PERIODS_KEPT, 6)]
    assert acc.applied_usage.keys() == acc.applied.keys()
