import pickle
from datetime import UTC, datetime, timedelta

from services.anomaly.metric.tracker import MetricTracker, MetricTrackerConfig

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class RecordingStandIn:
    """Stand-in for the metric detector: flags values far from the last learned one."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.last: float | None = None

    def score_one(self, ts: datetime, value: float) -> float:
        self.calls.append(("score", value))
        return 1.0 if self.last is not None and abs(value - self.last) > 30 else 0.0

    def learn_one(self, ts: datetime, value: float) -> None:
        self.calls.append(("learn", value))
        self.last = value


def feed(tracker: MetricTracker, values: list[float], start: int = 0) -> list:
    events = []
    for i, v in enumerate(values):
        events += tracker.observe(T0 + timedelta(minutes=5 * (start + i)), v, "111", T0)
    return events


def test_each_point_is_scored_before_it_is_learned() -> None:
    detector = RecordingStandIn()
    feed(MetricTracker("i-1|CPUUtilization|Average", detector, MetricTrackerConfig()), [1.0, 2.0])
    assert detector.calls == [("score", 1.0), ("learn", 1.0), ("score", 2.0), ("learn", 2.0)]


def test_lifecycle_open_update_resolve_after_n_normal_points() -> None:
    tracker = MetricTracker(
        "i-1|CPUUtilization|Average", RecordingStandIn(), MetricTrackerConfig(resolve_after=3)
    )
    events = feed(tracker, [10, 10, 90, 10, 10, 10, 10])
    assert [e.action for e in events] == ["open", "update", "resolve"]
    assert len({e.incident_id for e in events}) == 1
    assert events[0].kind == "metric"
    assert events[0].resource_id == "i-1"
    assert events[0].deviation is not None
    assert events[0].impact_usd is None


def test_replayed_points_are_skipped_and_state_pickles() -> None:
    tracker = MetricTracker("i-1|CPUUtilization|Average", RecordingStandIn(), MetricTrackerConfig())
    feed(tracker, [10, 10, 90])
    clone = pickle.loads(pickle.dumps(tracker))
    assert feed(clone, [10, 10, 90]) == []
    assert clone.incident is not None


class ScoreThenLearnOnly:
    """The real detector seen through score_one/learn_one alone (no ``update``)."""

    def __init__(self) -> None:
        from services.anomaly.metric import MetricDetector, MetricDetectorConfig

        self._inner = MetricDetector(MetricDetectorConfig(learning_points=20, rest_points=30))

    def score_one(self, ts: datetime, value: float) -> float:
        return self._inner.score_one(ts, value)

    def learn_one(self, ts: datetime, value: float) -> None:
        self._inner.learn_one(ts, value)


def test_update_path_decides_exactly_as_score_then_learn() -> None:
    from services.anomaly.metric import MetricDetector, MetricDetectorConfig

    values = [10.0 + (i % 7) * 0.3 + (80.0 if i in (60, 250) else 0.0) for i in range(300)]
    config = MetricTrackerConfig(threshold=0.54)
    fused = MetricTracker(
        "k|m|s", MetricDetector(MetricDetectorConfig(learning_points=20, rest_points=30)), config
    )
    split = MetricTracker("k|m|s", ScoreThenLearnOnly(), config)
    fused_events, split_events = feed(fused, values), feed(split, values)
    assert [e.action for e in fused_events] == ["open", "resolve", "open", "resolve"]
    assert [e.model_dump() for e in fused_events] == [e.model_dump() for e in split_events]
