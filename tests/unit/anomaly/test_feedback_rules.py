"""Feedback rules: data-time windows, one rule per rule id, the record that replaces it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.anomaly.feedback.follower import record_rule
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from shared.events import Feedback

DAY = datetime(2024, 2, 10, tzinfo=UTC)
ANSWERED = datetime(2026, 12, 1, tzinfo=UTC)  # wall clock, far from the data


def _feedback(verdict: str, rule: str, **window: datetime) -> Feedback:
    return Feedback(
        id=f"{rule}-{verdict}",
        rule_id=rule,
        series_id="daily/111/AmazonEC2",
        incident_id="inc",
        verdict=verdict,  # type: ignore[arg-type]  # tests pass valid literals
        created_at=ANSWERED,
        **window,
    )


def test_a_window_is_half_open_and_covers_points_whose_period_overlaps_it() -> None:
    book = FeedbackBook(FeedbackConfig())
    book.add_planned("daily/111/AmazonEC2", DAY + timedelta(hours=2), DAY + timedelta(days=1))
    assert book.planned("daily/111/AmazonEC2/BoxUsage", DAY)  # the day holds 02:00..24:00
    assert not book.planned("daily/111/AmazonEC2", DAY + timedelta(days=1))
    assert not book.planned("daily/111/AmazonS3", DAY)  # a sibling is not covered
    assert not book.planned("daily/111", DAY)  # nor the parent
    # One window quiets the series at every granularity; an hour is its own period.
    assert not book.planned("hourly/111/AmazonEC2", DAY + timedelta(hours=1))
    assert book.planned("hourly/111/AmazonEC2", DAY + timedelta(hours=2))


def test_metric_streams_are_instants() -> None:
    book = FeedbackBook(FeedbackConfig())
    book.add_planned("i-1|CPUUtilization|Average", DAY, DAY + timedelta(hours=1))
    assert book.planned("i-1|CPUUtilization|Average", DAY)
    assert not book.planned("i-1|CPUUtilization|Average", DAY + timedelta(hours=1))


def test_false_positive_is_anchored_on_the_incident_window_not_on_the_answer() -> None:
    book = FeedbackBook(FeedbackConfig())
    record_rule(book, _feedback("false_positive", "r", window_start=DAY, window_end=DAY))
    assert book.widen("daily/111/AmazonEC2", DAY + timedelta(days=6)) == 2.0
    assert book.widen("daily/111/AmazonEC2", DAY + timedelta(days=8)) == 1.0
    # Without a window there is no data time to anchor on: nothing is quieted.
    unanchored = FeedbackBook(FeedbackConfig())
    record_rule(unanchored, _feedback("false_positive", "r"))
    assert unanchored.widen("daily/111/AmazonEC2", ANSWERED) == 1.0


def test_a_later_record_for_the_same_rule_replaces_it() -> None:
    book = FeedbackBook(FeedbackConfig())
    record_rule(book, _feedback("false_positive", "v", window_start=DAY, window_end=DAY))
    record_rule(book, _feedback("true_positive", "v"))  # the person changed their mind
    assert book.widen("daily/111/AmazonEC2", DAY + timedelta(days=1)) == 1.0
    window = {"window_start": DAY, "window_end": DAY + timedelta(days=2)}
    record_rule(book, _feedback("expected", "e", **window))
    record_rule(book, _feedback("planned", "p", **window))
    assert book.planned("daily/111/AmazonEC2", DAY)
    record_rule(book, _feedback("true_positive", "e"))
    assert book.planned("daily/111/AmazonEC2", DAY)  # rule "p" still stands
    record_rule(book, _feedback("true_positive", "p"))
    assert not book.planned("daily/111/AmazonEC2", DAY)
    assert book.rules("daily/111/AmazonEC2", DAY) == (1.0, False, False)
