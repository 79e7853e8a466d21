"""Intra-day cost judgement: hour-of-week profile, completeness, one incident per cause."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.anomaly.cost.account_state import AccountState
from services.anomaly.cost.intraday import HourOfWeekProfile, IntradayConfig, complete_before
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from services.anomaly.state_codec import cost_state_codec
from tests.unit.anomaly.cur_events import BILLING, hourly_delivery, spike_hours

MONDAY = date(2024, 1, 1)
ACCOUNT = "123456789012"
DAYS = 22  # 14 warm-up days, then every weekday's hour profile seen at least twice


def test_the_profile_gives_the_share_of_the_day_so_far_per_weekday() -> None:
    profile = HourOfWeekProfile()
    profile.learn(MONDAY, [1.0] * 8 + [3.0] * 12 + [1.0] * 4, rate=0.25)
    assert profile.share_through(MONDAY, 8) == pytest.approx(8 / 48)
    assert profile.share_through(MONDAY, 20) == pytest.approx(44 / 48)
    assert profile.share_through(MONDAY, 24) == 1.0
    assert profile.share_through(MONDAY + timedelta(days=1), 8) is None  # Tuesday unseen
    assert profile.share_through(MONDAY + timedelta(days=7), 8) == pytest.approx(8 / 48)


def test_a_new_day_moves_its_weekday_by_the_rate_and_an_empty_day_teaches_nothing() -> None:
    profile = HourOfWeekProfile()
    profile.learn(MONDAY, [1.0] * 12 + [0.0] * 12, rate=0.25)
    profile.learn(MONDAY + timedelta(days=7), [0.0] * 12 + [1.0] * 12, rate=0.25)
    profile.learn(MONDAY + timedelta(days=14), [0.0] * 24, rate=0.25)
    assert profile.share_through(MONDAY, 12) == pytest.approx(0.75)
    assert profile.days == 2


def test_the_profile_is_small_plain_state() -> None:
    profile = HourOfWeekProfile()
    for d in range(7):
        profile.learn(MONDAY + timedelta(days=d), [float(h) for h in range(24)], rate=0.25)
    codec = cost_state_codec()
    data = codec.encode(profile)
    assert len(data) < 1000
    assert codec.decode(data).share_through(MONDAY, 12) == profile.share_through(MONDAY, 12)


def test_a_day_is_complete_once_the_next_is_covered_for_the_settle_hours() -> None:
    cfg = IntradayConfig(settle_hours=4)
    tue = MONDAY + timedelta(days=1)
    assert complete_before(tue, 3, cfg) == MONDAY  # Monday's last hours may still move
    assert complete_before(tue, 4, cfg) == tue
    assert complete_before(tue, None, cfg) == MONDAY  # the delivery does not hold Tuesday
    assert complete_before(tue, 1, IntradayConfig(settle_hours=0)) == tue  # the old rule


def _deliver(state: AccountState, hours: dict, attempt: str, at: datetime) -> list:
    book = FeedbackBook(FeedbackConfig())
    out = []
    for event in hourly_delivery(ACCOUNT, attempt, hours, at):
        out += state.on_event(event, book, at).anomalies
    return out


def _history(state: AccountState, **shape: float) -> None:
    """One month-to-date delivery per day, each covering the day before in full."""
    start = datetime.combine(BILLING, datetime.min.time(), UTC)
    for d in range(1, DAYS + 1):
        hours = spike_hours(d, 0, 0, 0.0, **shape)
        events = _deliver(state, hours, f"day-{d}", start + timedelta(days=d, hours=9))
        assert events == []


def _state() -> AccountState:
    from services.anomaly.settings import AnomalySettings

    return AccountState(ACCOUNT, AnomalySettings(anomaly_warmup_days=14).cost_config())


def test_a_spike_opens_from_a_partial_day_and_later_hours_update_the_same_incident() -> None:
    state = _state()
    _history(state)
    day = datetime.combine(BILLING, datetime.min.time(), UTC) + timedelta(days=DAYS)
    first = _deliver(state, spike_hours(DAYS, 12, 6, 40.0), "p1", day + timedelta(hours=22))
    assert [(e.action, e.series_id) for e in first] == [
        ("open", f"daily/{ACCOUNT}/AmazonEC2/BoxUsage")
    ]
    opened = first[0]
    assert opened.window_start == day
    assert opened.window_end == day + timedelta(hours=12)
    assert "so far" in opened.reason
    assert opened.actual > opened.expected

    later = _deliver(state, spike_hours(DAYS, 20, 6, 40.0), "p2", day + timedelta(hours=30))
    assert [(e.action, e.incident_id) for e in later] == [("update", opened.incident_id)]
    assert later[0].window_end == day + timedelta(hours=20)

    # The same hours again (a rewrite that changed nothing): no event at all.
    assert _deliver(state, spike_hours(DAYS, 20, 6, 40.0), "p3", day + timedelta(hours=31)) == []

    # The next day covered past the settle hours: the daily judgement confirms it.
    whole = spike_hours(DAYS + 1, 6, -24, 40.0)
    confirmed = _deliver(state, whole, "d1", day + timedelta(hours=38))
    assert {(e.action, e.incident_id) for e in confirmed} == {("update", opened.incident_id)}
    # ... one update is the whole day; the other the next day's first hours, still high.
    assert sorted(e.window_end - day for e in confirmed) == [timedelta(days=1), timedelta(hours=30)]


def test_restated_hours_rejudge_the_partial_day_without_a_second_incident() -> None:
    state = _state()
    _history(state)
    day = datetime.combine(BILLING, datetime.min.time(), UTC) + timedelta(days=DAYS)
    hours = spike_hours(DAYS, 14, 6, 40.0)
    newest = max(hours)
    shy = {**hours, newest: {k: v * 0.5 for k, v in hours[newest].items()}}  # not settled yet
    first = _deliver(state, shy, "p1", day + timedelta(hours=22))
    restated = _deliver(state, hours, "p2", day + timedelta(hours=23))
    assert [e.action for e in first] == ["open"]
    assert [(e.action, e.incident_id) for e in restated] == [("update", first[0].incident_id)]
    assert restated[0].actual > first[0].actual


def test_missing_and_unsettled_hours_are_not_a_drop() -> None:
    state = _state()
    _history(state)
    day = datetime.combine(BILLING, datetime.min.time(), UTC) + timedelta(days=DAYS)
    opened = _deliver(state, spike_hours(DAYS, 12, 6, 40.0), "p1", day + timedelta(hours=22))
    assert [e.action for e in opened] == ["open"]
    # A rewrite whose newest hours have barely started: far below what the spike showed.
    hours = spike_hours(DAYS, 14, 6, 40.0)
    for at in sorted(hours)[-6:]:
        hours[at] = {k: v * 0.05 for k, v in hours[at].items()}
    shy = _deliver(state, hours, "p2", day + timedelta(hours=23))
    assert all(e.action != "resolve" for e in shy)
    assert [i.incident_id for i in state.engine.open.values()] == [opened[0].incident_id]


def test_a_normal_partial_day_does_not_alert_on_the_diurnal_rise() -> None:
    """Daytime hours cost 20x the night: a flat profile would call the afternoon a spike."""
    shape = {"night": 2.0, "daytime": 38.0}
    state = _state()
    _history(state, **shape)
    day = datetime.combine(BILLING, datetime.min.time(), UTC) + timedelta(days=DAYS)
    for n, through in enumerate((10, 14, 20)):
        hours = spike_hours(DAYS, through, 24, 0.0, **shape)
        assert _deliver(state, hours, f"p{n}", day + timedelta(hours=through + 9)) == []
