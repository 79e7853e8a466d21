"""Contract tests of the streaming metric detector used by the anomaly service."""

from __future__ import annotations

import math
import pickle
import random
from datetime import datetime, timedelta

import pytest

from services.anomaly.metric import (
    InvalidDatapointError,
    MetricDetector,
    MetricDetectorConfig,
)

T0 = datetime(2024, 1, 1)
STEP = timedelta(minutes=5)


def _series(n: int, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    values = [50.0 + 10.0 * math.sin(i / 20.0) + rng.uniform(-1.0, 1.0) for i in range(n)]
    if n > 400:
        values[400] = 95.0  # spike beyond everything seen
    for i in range(450, min(n, 470)):  # in-range burst of large errors
        values[i] = 50.0 + (12.0 if i % 2 else -12.0)
    return values


def _scores(detector: MetricDetector, values: list[float]) -> list[float]:
    return [detector.update(T0 + i * STEP, v).score for i, v in enumerate(values)]


def test_scores_are_in_unit_interval_and_flag_the_spike() -> None:
    scores = _scores(MetricDetector(MetricDetectorConfig(rest_points=0)), _series(600))
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[400] == 1.0
    assert max(scores[300:399]) < MetricDetectorConfig().threshold
    assert max(scores[450:470]) >= MetricDetectorConfig().threshold


def test_quiet_period_after_an_alert_then_alerts_again() -> None:
    rest = 40
    values = _series(600)
    d = MetricDetector(MetricDetectorConfig(rest_points=rest))
    scores = _scores(d, values[: 401 + rest])
    assert scores[400] == 1.0
    assert scores[401 : 401 + rest] == [0.0] * rest  # the aftershock burst does not re-page
    # A default detector rests a day: the burst 50 points after the spike stays silent.
    default = _scores(MetricDetector(), values)
    assert default[400] == 1.0
    assert max(default[401:600]) == 0.0
    # After the quiet period a new extreme alerts again.
    assert d.update(T0 + (401 + rest) * STEP, 150.0).score == 1.0


def test_incident_does_not_inflate_the_error_scale() -> None:
    values = _series(600)
    resting, eager = MetricDetector(), MetricDetector(MetricDetectorConfig(rest_points=0))
    for i, v in enumerate(values[:480]):
        r, e = resting.update(T0 + i * STEP, v), eager.update(T0 + i * STEP, v)
    # The default detector rests after the spike at 400 and does not learn the burst's errors.
    assert r.upper - r.lower < 0.8 * (e.upper - e.lower)


def test_scores_before_learning() -> None:
    values = _series(420)
    d = MetricDetector()
    for i, v in enumerate(values[:400]):
        d.update(T0 + i * STEP, v)
    before = d.score_one(T0 + 400 * STEP, 95.0)
    assert before == d.score_one(T0 + 400 * STEP, 95.0)  # score_one does not learn
    d.learn_one(T0 + 400 * STEP, 95.0)
    # Had it learned first, 95 would be inside the seen range: no longer a spatial anomaly.
    assert before == 1.0
    assert d.score_one(T0 + 401 * STEP, 95.0) < 1.0


def test_update_equals_score_then_learn() -> None:
    values = _series(500)
    a, b = MetricDetector(), MetricDetector()
    for i, v in enumerate(values):
        ts = T0 + i * STEP
        s = b.score_one(ts, v)
        b.learn_one(ts, v)
        assert a.update(ts, v).score == s


def test_pickle_round_trip_preserves_behaviour() -> None:
    values = _series(600)
    d = MetricDetector()
    _scores(d, values[:300])
    clone = pickle.loads(pickle.dumps(d))
    rest = values[300:]
    assert _scores(d, rest) == _scores(clone, rest)


def test_deterministic() -> None:
    values = _series(600)
    assert _scores(MetricDetector(), values) == _scores(MetricDetector(), values)


def test_learning_period_scores_zero_and_band_brackets_expected() -> None:
    d = MetricDetector(MetricDetectorConfig(learning_points=50))
    results = [d.update(T0 + i * STEP, v) for i, v in enumerate(_series(100))]
    assert all(r.score == 0.0 for r in results[:50])
    assert all(r.lower <= r.expected <= r.upper for r in results)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected_without_changing_state(bad: float) -> None:
    d = MetricDetector()
    _scores(d, _series(200))
    snapshot = pickle.dumps(d)
    with pytest.raises(InvalidDatapointError, match="dead-letter"):
        d.update(T0, bad)
    assert pickle.dumps(d) == snapshot
