"""The optional pattern memory and seasonal expert: plain-data state, same decisions after a
round trip through the changelog codec, and a missed daily ramp caught."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from services.anomaly.metric import MetricDetector, MetricDetectorConfig
from services.anomaly.state_codec import metric_state_codec

T0 = datetime(2024, 1, 1)
STEP = timedelta(minutes=5)
#: The validation-chosen candidate of docs/nab-eval.md.
CANDIDATE = replace(MetricDetectorConfig(), pattern_weight=0.5, season_points=288, threshold=0.51)


def _daily(n: int, missing_day: int | None = None) -> list[float]:
    rng = np.random.default_rng(4)
    out = []
    for i in range(n):
        ramp = 40.0 if (i % 288) >= 144 and i // 288 != missing_day else 0.0
        out.append(20.0 + ramp + float(rng.normal(0, 1)))
    return out


def test_options_round_trip_through_the_codec_and_decide_the_same() -> None:
    detector = MetricDetector(CANDIDATE)
    codec = metric_state_codec(detector)
    values = _daily(3000)
    for i, v in enumerate(values[:2000]):
        detector.update(T0 + i * STEP, v)
    restored = codec.decode(codec.encode(detector))
    assert codec.encode(restored) == codec.encode(detector)
    rest = list(enumerate(values[2000:], start=2000))
    assert [restored.update(T0 + i * STEP, v) for i, v in rest] == [
        detector.update(T0 + i * STEP, v) for i, v in rest
    ]


def test_the_seasonal_expert_flags_a_missing_daily_ramp_the_ewma_misses() -> None:
    values = _daily(288 * 8, missing_day=6)
    start = 288 * 6 + 144  # where the ramp should have begun
    window = slice(start, start + 60)
    ewma_only = MetricDetector()
    plain = [ewma_only.update(T0 + i * STEP, v).score for i, v in enumerate(values)]
    seasonal = MetricDetector(replace(CANDIDATE, pattern_weight=0.0))
    scores = [seasonal.update(T0 + i * STEP, v).score for i, v in enumerate(values)]
    assert max(scores[window]) >= CANDIDATE.threshold
    assert max(plain[window]) < MetricDetectorConfig().threshold
    assert all(math.isfinite(s) for s in scores)
