"""Anomaly states survive the changelog codec: decoded states decide exactly as the originals."""

from datetime import UTC, date, datetime, timedelta

import numpy as np

from services.anomaly.cost.account_state import AccountState
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from services.anomaly.fleet.resource_tracker import ResourceTracker
from services.anomaly.metric import MetricDetector, MetricDetectorConfig
from services.anomaly.settings import AnomalySettings
from services.anomaly.state_codec import cost_state_codec, metric_state_codec
from tests.unit.anomaly.cur_events import delivery

NOW = datetime(2024, 3, 1, tzinfo=UTC)


def _days(start: int, end: int, spike_from: int) -> dict[date, dict[tuple[str, str], float]]:
    rng = np.random.default_rng(start)
    out = {}
    for i in range(start, end):
        extra = 700.0 if i >= spike_from else 0.0
        out[date(2024, 1, 1) + timedelta(days=i)] = {
            ("AmazonEC2", "BoxUsage"): 400 * (1 + rng.normal(0, 0.02)) + extra,
            ("AmazonS3", "TimedStorage"): 80.0,
        }
    return out


def _feed(state: AccountState, events: list, book: FeedbackBook) -> list:
    out = []
    for event in events:
        result = state.on_event(event, book, NOW)
        out += [(a.action, a.incident_id, a.actual) for a in result.anomalies]
        out += [(p.series_id, p.cost) for p in result.points]
    return out


def test_an_account_state_with_an_open_incident_and_a_pending_attempt_round_trips() -> None:
    codec = cost_state_codec()
    book = FeedbackBook(FeedbackConfig())
    state = AccountState("111111111111", AnomalySettings(anomaly_warmup_days=14).cost_config())
    for n in range(1, 28):
        _feed(state, delivery("111111111111", f"a{n}", _days(0, n, spike_from=24)), book)
    assert state.engine.open, "the spike should have opened an incident"
    # a delivery in progress: started, some rows in, not completed
    in_progress = delivery("111111111111", "a28", _days(0, 28, spike_from=24))[:-1]
    _feed(state, in_progress, book)
    restored = codec.decode(codec.encode(state))
    assert codec.encode(restored) == codec.encode(state)
    rest = [delivery("111111111111", "a28", _days(0, 28, spike_from=24))[-1]]
    rest += delivery("111111111111", "a29", _days(0, 29, spike_from=24))
    assert _feed(restored, rest, book) == _feed(state, rest, book)


def test_a_metric_resource_with_an_open_incident_round_trips() -> None:
    detector = MetricDetector(MetricDetectorConfig())
    codec = metric_state_codec(detector)
    config = AnomalySettings().metric_config(detector.config.threshold)
    tracker = ResourceTracker("i-1", config)
    tracker.describe("m5.large", 0.096)
    rng = np.random.default_rng(5)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)

    def run(t: ResourceTracker, start: int, end: int) -> list:
        events = []
        for i in range(start, end):
            ts = t0 + timedelta(minutes=5 * i)
            for e in t.observe("CPUUtilization", "Average", ts, 20 + rng_values[i], "111", NOW,
                               lambda: MetricDetector(MetricDetectorConfig())):  # fmt: skip
                events.append((e.action, e.incident_id, e.actual, e.impact_usd, e.notify))
        return events

    rng_values = rng.normal(0, 1, 4000) + np.where(np.arange(4000) >= 3000, 60.0, 0.0)
    assert run(tracker, 0, 3001), "the level shift should have opened an incident"
    assert tracker.incident is not None
    restored = codec.decode(codec.encode(tracker))
    assert codec.encode(restored) == codec.encode(tracker)
    assert run(restored, 3001, 4000) == run(tracker, 3001, 4000)
