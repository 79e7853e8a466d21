import math
import pickle
from datetime import date, timedelta

import numpy as np

from services.anomaly.cost.seasonal import CostDetectorConfig, CostSeriesDetector

START = date(2024, 1, 1)


def weekly(
    days: int, seed: int = 0, level: float = 200.0, growth: float = 0.0, offset: int = 0
) -> list[float]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(days):
        season = 1.0 if (START + timedelta(days=offset + i)).weekday() < 5 else 0.6
        out.append(level * (1 + growth * i) * season * (1 + rng.normal(0, 0.03)))
    return out


def feed(det: CostSeriesDetector, values: list[float], offset: int = 0) -> list:
    return [det.observe(START + timedelta(days=offset + i), v) for i, v in enumerate(values)]


def test_clean_weekly_series_with_growth_raises_nothing() -> None:
    det = CostSeriesDetector()
    verdicts = feed(det, weekly(120, growth=0.003))
    assert not any(v.anomalous for v in verdicts)


def test_spike_is_flagged_with_expected_near_the_weekday_baseline() -> None:
    det = CostSeriesDetector()
    values = weekly(60)
    feed(det, values)
    day = START + timedelta(days=60)
    normal = 200.0 if day.weekday() < 5 else 120.0
    verdict = det.observe(day, normal * 2)
    assert verdict.anomalous
    assert abs(verdict.expected - normal) / normal < 0.1
    assert 0.5 <= verdict.score <= 1.0


def test_level_shift_is_accepted_after_confirmation_days() -> None:
    config = CostDetectorConfig()
    det = CostSeriesDetector(config)
    feed(det, weekly(60))
    shifted = [v * 1.8 for v in weekly(30, seed=1, offset=60)]
    verdicts = feed(det, shifted, offset=60)
    flagged = [i for i, v in enumerate(verdicts) if v.anomalous]
    assert flagged[0] == 0
    assert verdicts[config.level_shift_days - 1].level_shift
    assert not any(v.anomalous for v in verdicts[config.level_shift_days + 7 :])


def test_dollar_floor_and_percentage_floor_both_apply() -> None:
    tiny = CostSeriesDetector(CostDetectorConfig(min_impact_usd=25.0))
    feed(tiny, [2.0] * 40)
    assert not tiny.assess(START + timedelta(days=40), 20.0).anomalous  # +$18 < $25
    big = CostSeriesDetector(CostDetectorConfig(min_pct=0.5, noise_floor_pct=0.001))
    feed(big, [10_000.0] * 40)
    verdict = big.assess(START + timedelta(days=40), 14_000.0)  # +40% < 50%
    assert verdict.actual > verdict.upper
    assert not verdict.anomalous


def test_slow_ramp_is_caught_by_cusum() -> None:
    det = CostSeriesDetector()
    feed(det, weekly(60))
    ramp = [v + min(i, 14) * 10.0 for i, v in enumerate(weekly(30, seed=2, offset=60))]
    verdicts = feed(det, ramp, offset=60)
    assert any(v.anomalous for v in verdicts)


def test_new_series_after_warmup_alerts_on_first_cost() -> None:
    det = CostSeriesDetector(born_late=True)
    assert det.observe(START, 100.0).anomalous
    assert not det.observe(START + timedelta(days=1), 100.0).anomalous


def test_detector_pickles_and_continues_identically() -> None:
    det = CostSeriesDetector()
    feed(det, weekly(40))
    clone = pickle.loads(pickle.dumps(det))
    day = START + timedelta(days=40)
    assert clone.assess(day, 500.0) == det.assess(day, 500.0)
    assert not math.isinf(clone.assess(day, 500.0).upper)
