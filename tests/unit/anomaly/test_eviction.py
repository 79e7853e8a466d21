"""Eviction of unfinished attempts and idle metric streams: data time, deterministic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.anomaly.cost.accumulator import MAX_PENDING_ATTEMPTS, AccountAccumulator
from services.anomaly.metric.eviction import idle_streams
from services.anomaly.state_codec import cost_state_codec

T0 = datetime(2025, 3, 1, tzinfo=UTC)
PERIOD = date(2025, 3, 1)
HORIZON = timedelta(hours=48)


def _item(acc: AccountAccumulator, attempt: str) -> None:
    acc.add_line_item(attempt, PERIOD, PERIOD, "EC2", "Box", "us-east-1", "i-1", 1.0)


def test_unfinished_attempts_age_on_marker_time_not_wall_time() -> None:
    acc = AccountAccumulator("1")
    acc.advance(T0, HORIZON)
    _item(acc, "orphan")  # line items of an attempt that never completes
    acc.start("live", PERIOD)
    assert acc.advance(T0 + HORIZON, HORIZON) == []  # exactly the horizon: kept
    acc.start("later", PERIOD)
    assert acc.advance(T0 + HORIZON + timedelta(seconds=1), HORIZON) == ["live", "orphan"]
    assert set(acc.pending) == {"later"}


def test_a_future_marker_cannot_make_later_attempts_look_old() -> None:
    acc = AccountAccumulator("1")
    acc.advance(T0 + timedelta(days=3650), HORIZON)  # forged: ten years ahead
    acc.start("real", PERIOD)
    assert acc.advance(T0, HORIZON) == []  # an older marker does not move the clock back
    _item(acc, "real")
    assert acc.complete("real", PERIOD, row_count=1).accepted


def test_made_up_attempt_ids_are_capped_oldest_first() -> None:
    acc = AccountAccumulator("1")
    for i in range(MAX_PENDING_ATTEMPTS + 10):
        acc.advance(T0 + timedelta(minutes=i), HORIZON)
        _item(acc, f"fake-{i:03d}")
    assert len(acc.pending) == MAX_PENDING_ATTEMPTS
    assert min(acc.pending) == "fake-010"


def test_eviction_is_the_same_after_a_restore() -> None:
    codec = cost_state_codec()
    acc = AccountAccumulator("1")
    acc.advance(T0, HORIZON)
    _item(acc, "orphan")
    restored = codec.decode(codec.encode(acc))
    later = T0 + HORIZON + timedelta(hours=1)
    assert restored.advance(later, HORIZON) == acc.advance(later, HORIZON) == ["orphan"]


def test_a_state_from_before_eviction_starts_aging_at_the_next_marker() -> None:
    acc = AccountAccumulator("1")
    _item(acc, "old")
    del acc.pending["old"].seen_at  # as a state written by the previous build decodes
    vars(acc).pop("clock", None)
    assert acc.advance(T0, HORIZON) == []
    assert acc.advance(T0 + HORIZON + timedelta(hours=1), HORIZON) == ["old"]


def test_idle_streams_use_each_partitions_newest_point() -> None:
    week = timedelta(days=7)
    seen = [
        (0, "i-gone|CPU|Average", T0 - timedelta(days=8)),
        (0, "i-live|CPU|Average", T0),
        (1, "i-quiet-partition|CPU|Average", T0 - timedelta(days=30)),
        (1, "i-other|CPU|Average", T0 - timedelta(days=30)),
    ]
    assert idle_streams(seen, week, ceiling=T0) == [(0, "i-gone|CPU|Average")]


def test_a_forged_future_point_does_not_evict_its_partition() -> None:
    seen = [(0, "forged", T0 + timedelta(days=3650)), (0, "i-live", T0)]
    assert idle_streams(seen, timedelta(days=7), ceiling=T0 + timedelta(hours=1)) == []


def test_idle_streams_are_sorted_whatever_the_input_order() -> None:
    old = T0 - timedelta(days=9)
    seen = [(0, "b", old), (1, "z", old), (0, "a", old), (0, "now", T0), (1, "now1", T0)]
    week = timedelta(days=7)
    assert idle_streams(seen, week, T0) == idle_streams(reversed(seen), week, T0)
    assert idle_streams(seen, week, T0) == [(0, "a"), (0, "b"), (1, "z")]
