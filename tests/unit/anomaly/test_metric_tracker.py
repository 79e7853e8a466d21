import pickle
from datetime import UTC, datetime, timedelta

from services.anomaly.metric.tracker import MetricTracker, MetricTrackerConfig, StreamStep

T0 = datetime(2024, 1, 1, tzinfo=UTC)
KEY = "i-1|CPUUtilization|Average"
WARM = 4000  # points until the week-scale baseline has (mostly) learned the level


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


def feed(tracker: MetricTracker, values: list[float], start: int = 0) -> list[StreamStep]:
    steps = []
    for i, v in enumerate(values):
        step = tracker.observe(T0 + timedelta(minutes=5 * (start + i)), v)
        if step is not None:
            steps.append(step)
    return steps


def noisy(n: int, level: float = 10.0) -> list[float]:
    return [level + (i % 5) - 2.0 for i in range(n)]


def test_each_point_is_scored_before_it_is_learned() -> None:
    detector = RecordingStandIn()
    feed(MetricTracker(KEY, detector, MetricTrackerConfig()), [1.0, 2.0])
    assert detector.calls == [("score", 1.0), ("learn", 1.0), ("score", 2.0), ("learn", 2.0)]


def test_a_blip_is_a_short_episode_ended_by_normal_points() -> None:
    tracker = MetricTracker(KEY, RecordingStandIn(), MetricTrackerConfig(resolve_after=3))
    feed(tracker, noisy(WARM))
    steps = feed(tracker, [90.0, *noisy(30)], start=WARM)
    assert steps[0].opened
    assert steps[0].active
    assert steps[-1].reason == "back to normal"
    assert not steps[-1].active
    assert len(steps) <= 16  # the smoothed level falls back inside within about an hour
    assert max(s.share for s in steps[1:]) < 0.05  # only the blip itself moved capacity


def test_a_sustained_level_keeps_one_episode_open_although_the_detector_is_quiet() -> None:
    # The stand-in scores only jumps, as the real detector goes quiet after an alert:
    # the saturation's extent must come from the frozen baseline.
    tracker = MetricTracker(KEY, RecordingStandIn(), MetricTrackerConfig(accept_after=10_000))
    feed(tracker, noisy(WARM))
    steps = feed(tracker, [98.0] * 36 + noisy(30), start=WARM)
    assert [s.opened for s in steps].count(True) == 1
    ended = [s for s in steps if not s.active]
    assert len(ended) == 1
    assert ended[0].reason == "back to normal"
    assert sum(1 for s in steps if s.active) >= 36
    assert max(s.share for s in steps) > 0.8  # CPU moved ~88 points of 100


def test_a_level_held_past_accept_after_becomes_the_new_normal() -> None:
    tracker = MetricTracker(KEY, RecordingStandIn(), MetricTrackerConfig(accept_after=20))
    feed(tracker, noisy(WARM))
    steps = feed(tracker, [60.0] * 40, start=WARM)
    assert steps[-1].reason == "new level accepted"
    assert feed(tracker, [60.0] * 20, start=WARM + 40) == []  # the baseline restarted at the level


def test_replayed_points_are_skipped_and_state_pickles() -> None:
    tracker = MetricTracker(KEY, RecordingStandIn(), MetricTrackerConfig())
    feed(tracker, [10, 10, 90])
    clone = pickle.loads(pickle.dumps(tracker))
    assert feed(clone, [10, 10, 90]) == []
    assert clone.active


def test_a_planned_window_starts_nothing_and_ends_an_open_episode() -> None:
    tracker = MetricTracker(KEY, RecordingStandIn(), MetricTrackerConfig())
    feed(tracker, noisy(50))
    assert tracker.observe(T0 + timedelta(hours=10), 95.0, suppressed=True) is None
    assert tracker.observe(T0 + timedelta(hours=11), 10.0) is not None  # a jump back opens
    step = tracker.observe(T0 + timedelta(hours=12), 95.0, suppressed=True)
    assert step is not None
    assert step.reason == "planned window"


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
    fused_steps, split_steps = feed(fused, values), feed(split, values)
    assert [s.opened for s in fused_steps].count(True) >= 1
    assert fused_steps == split_steps


def test_the_burst_memory_holds_the_size_of_the_excursions_a_stream_makes_daily() -> None:
    steady = MetricTracker(KEY, RecordingStandIn(), MetricTrackerConfig())
    feed(steady, noisy(288 * 5))
    assert steady.routine == 0.0  # a quiet stream makes no excursions
    bursty = MetricTracker(KEY, RecordingStandIn(), MetricTrackerConfig())
    # 60 points above the level for half an hour at noon, every day
    feed(bursty, [70.0 if 144 <= i % 288 < 150 else v for i, v in enumerate(noisy(288 * 5))])
    # about 0.6 of capacity for 6 points, plus the tail an episode would count too
    assert 3.0 < bursty.routine < 4.5
    assert len(bursty.daily) == 4  # one entry per finished UTC day


def test_a_state_written_before_the_burst_memory_existed_still_runs() -> None:
    old = MetricTracker(KEY, RecordingStandIn(), MetricTrackerConfig())
    for name in ("capacity",):  # what __init__ sets; the rest are class-level defaults
        del old.__dict__[name]
    feed(old, [70.0 if 144 <= i % 288 < 150 else v for i, v in enumerate(noisy(288 * 5))])
    assert old.capacity is True
    assert old.routine > 0.0
