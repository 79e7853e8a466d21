from datetime import UTC, date, datetime, timedelta

import numpy as np

from services.anomaly.cost.engine import AccountCostEngine
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from shared.events import Feedback

START = date(2024, 1, 1)
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def leaves(day: int, rng: np.random.Generator, extra: float = 0.0) -> dict[tuple[str, str], float]:
    out = {}
    for service, ut, level in [
        ("AmazonEC2", "BoxUsage", 400.0),
        ("AmazonEC2", "EBS:VolumeUsage", 120.0),
        ("AmazonS3", "TimedStorage", 80.0),
        ("AWSLambda", "GB-Second", 60.0),
    ]:
        out[(service, ut)] = level * (1 + rng.normal(0, 0.02))
    out[("AmazonEC2", "BoxUsage")] += extra
    return out


def run(engine: AccountCostEngine, days: int, spikes: dict[int, float], book=None) -> list:
    rng = np.random.default_rng(0)
    events = []
    for i in range(days):
        events += engine.evaluate_day(
            START + timedelta(days=i), leaves(i, rng, spikes.get(i, 0.0)), None, book, NOW
        )
    return events


def test_usage_type_spike_opens_one_incident_grouping_its_parents() -> None:
    engine = AccountCostEngine("111")
    events = run(engine, 40, {30: 600.0, 31: 600.0})
    assert [e.action for e in events] == ["open", "update", "resolve"]
    assert len({e.incident_id for e in events}) == 1
    opened = events[0]
    assert opened.series_id == "daily/111/AmazonEC2/BoxUsage"
    assert opened.related_series == ["daily/111", "daily/111/AmazonEC2"]
    top = next(rc for rc in opened.root_cause if rc.dimension == "usage_type")
    assert top.value == "BoxUsage"
    assert top.share >= 0.8
    assert opened.impact_usd is not None
    assert opened.impact_usd > 400
    assert opened.lower <= opened.expected <= opened.upper < opened.actual


def test_ids_are_deterministic_across_runs() -> None:
    first = run(AccountCostEngine("111"), 40, {30: 600.0})
    second = run(AccountCostEngine("111"), 40, {30: 600.0})
    assert [e.id for e in first] == [e.id for e in second]
    assert len({e.id for e in first}) == len(first)


def test_planned_window_suppresses_the_incident() -> None:
    book = FeedbackBook(FeedbackConfig())
    at = datetime.combine(START + timedelta(days=30), datetime.min.time(), UTC)
    book.add_planned("daily/111/AmazonEC2", at, at + timedelta(days=1))
    events = run(AccountCostEngine("111"), 40, {30: 600.0}, book)
    assert events == []


def test_false_positive_resolves_and_widens_the_band() -> None:
    engine = AccountCostEngine("111")
    events = run(engine, 31, {30: 300.0})
    opened = events[-1]
    verdict = Feedback(
        id="f1",
        series_id=opened.series_id,
        incident_id=opened.incident_id,
        verdict="false_positive",
        created_at=NOW,
    )
    closed = engine.apply_feedback(verdict, NOW)
    assert [e.action for e in closed] == ["resolve"]
    assert "false positive" in closed[0].reason
    book = FeedbackBook(FeedbackConfig())
    book.add_false_positive(opened.series_id, opened.window_end)
    assert book.widen(opened.series_id, opened.window_end + timedelta(days=3)) == 2.0
    assert book.widen(opened.series_id, opened.window_end + timedelta(days=8)) == 1.0


def test_restated_day_updates_the_open_incident_but_never_opens_one() -> None:
    engine = AccountCostEngine("111")
    rng = np.random.default_rng(0)
    for i in range(31):
        engine.evaluate_day(
            START + timedelta(days=i), leaves(i, rng, 600.0 if i == 30 else 0.0), None, None, NOW
        )
    day = START + timedelta(days=30)
    update = engine.restate_day(day, leaves(30, np.random.default_rng(5), 900.0), None, None, NOW)
    assert [e.action for e in update] == ["update"]
    quiet = AccountCostEngine("111")
    rng = np.random.default_rng(0)
    for i in range(31):
        quiet.evaluate_day(START + timedelta(days=i), leaves(i, rng), None, None, NOW)
    assert (
        quiet.restate_day(day, leaves(30, np.random.default_rng(5), 900.0), None, None, NOW) == []
    )
