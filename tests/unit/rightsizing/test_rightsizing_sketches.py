import math
import pickle

import numpy as np
import pytest
from ddsketch import DDSketch

from services.rightsizing.exceptions import StateDecodeError
from services.rightsizing.sketches import (
    RELATIVE_ACCURACY,
    CompactSketch,
    DayRecord,
    InstanceState,
    decode_state,
    encode_state,
)
from services.rightsizing.sketches.compact import keys_of, mapping
from tests.unit.rightsizing.rightsizing_synth import MONDAY, make_state, noisy


def test_keys_match_the_ddsketch_library() -> None:
    values = np.random.default_rng(3).uniform(0.01, 100.0, 20_000)
    ours = keys_of(values)
    theirs = np.array([mapping().key(float(v)) for v in values])
    assert (ours == theirs).mean() > 0.999  # float ulp at a bin edge at most


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.995, 1.0])
def test_quantiles_agree_with_ddsketch_and_truth(q: float) -> None:
    values = np.random.default_rng(4).lognormal(2.5, 0.6, 5_000).clip(0, 100)
    ours = CompactSketch()
    ours.add_many(values)
    reference = DDSketch(RELATIVE_ACCURACY)
    for v in values:
        reference.add(float(v))
    exact = float(np.quantile(values, q, method="lower"))
    assert ours.quantile(q) == pytest.approx(reference.get_quantile_value(q), rel=0.021)
    assert ours.quantile(q) == pytest.approx(exact, rel=RELATIVE_ACCURACY + 1e-9)
    assert ours.quantile_upper(q) >= exact


def test_merge_equals_adding_everything_and_zeros_count() -> None:
    a, b, both = CompactSketch(), CompactSketch(), CompactSketch()
    x = np.array([0.0, 0.0, 1.0, 5.0, 50.0])
    y = np.array([0.0, 99.0, 70.0])
    a.add_many(x)
    b.add_many(y)
    both.add_many(np.concatenate([x, y]))
    a.merge(b)
    assert a == both
    assert a.quantile(0.0) == 0.0
    assert a.peak == 99.0
    assert a.count == 8


def test_to_ddsketch_roundtrip() -> None:
    s = CompactSketch()
    s.add_many(np.linspace(0.0, 80.0, 500))
    dd = s.to_ddsketch()
    assert dd.count == s.count
    assert dd.get_quantile_value(0.9) == pytest.approx(s.quantile(0.9), rel=0.021)


def test_state_memory_is_independent_of_point_count() -> None:
    five_min = make_state("i-a", "m5.large", noisy(20.0), days=14)
    one_min = InstanceState("i-b", instance_type="m5.large")
    ts = np.arange(MONDAY * 86_400, (MONDAY + 14) * 86_400, 60, dtype=np.int64)
    one_min.add("CPUUtilization", "Maximum", ts, noisy(20.0)(ts), period_s=60)
    small, large = len(encode_state(five_min)), len(encode_state(one_min))
    assert one_min.window(14).cpu.count == 5 * five_min.window(14).cpu.count
    assert large < 1.3 * small  # 5x the points, about the same bytes


def test_rolling_lookback_drops_old_days() -> None:
    state = make_state("i-a", "m5.large", noisy(20.0), days=20)
    state.trim(14)
    assert len(state.days) == 14
    assert state.window(14).hours_observed == pytest.approx(14 * 24)
    assert state.window(7).hours_observed == pytest.approx(7 * 24)


def test_average_cpu_is_superseded_by_maximum_and_network_needs_sum() -> None:
    state = InstanceState("i-a")
    ts = np.array([MONDAY * 86_400])
    assert state.add("CPUUtilization", "Average", ts, np.array([10.0]))
    assert state.add("CPUUtilization", "Maximum", ts, np.array([30.0]))
    assert not state.add("CPUUtilization", "Average", ts, np.array([10.0]))
    assert not state.add("NetworkIn", "Average", ts, np.array([10.0]))
    assert not state.add("DiskReadOps", "Sum", ts, np.array([10.0]))
    assert state.cpu_stat == "Maximum"


def test_codec_roundtrip_and_pickle() -> None:
    state = make_state("i-a", "m5.large", noisy(20.0), mem=noisy(40.0, seed=9), days=3)
    state.last_finding, state.rightsized = "optimized", True
    again = decode_state(encode_state(state))
    assert again == state
    assert pickle.loads(pickle.dumps(state)) == state
    assert not math.isnan(again.window(14).cpu.quantile(0.995) or math.nan)


@pytest.mark.parametrize("data", [b"", b"XX\x01\x00\x00\x00\x00", b"RS\x09\x00\x00\x00\x00"])
def test_codec_rejects_garbage_with_a_clear_error(data: bytes) -> None:
    with pytest.raises(StateDecodeError):
        decode_state(data)


def test_bins_widen_from_16_to_32_bits_before_a_bin_overflows() -> None:
    sketch = CompactSketch()
    sketch.add_many(np.full(60_000, 50.0))
    assert sketch.bins.dtype == np.uint16
    sketch.add_many(np.full(10_000, 50.0))  # one bin now holds 70,000
    assert sketch.bins.dtype == np.uint32
    assert int(sketch.bins.max()) == 70_000
    one_go = CompactSketch()
    one_go.add_many(np.full(70_000, 50.0))
    assert one_go == sketch
    state = InstanceState("i-1")
    state.add("CPUUtilization", "Maximum", np.arange(70_000) % 86_400, np.full(70_000, 50.0))
    assert decode_state(encode_state(state)).days[0].cpu == state.days[0].cpu


def test_bulk_days_share_an_hours_block_but_pickle_only_their_own() -> None:
    from services.rightsizing.sketches.bulk import add_cpu_day

    days: list[dict[int, DayRecord]] = [{} for _ in range(500)]
    ts = np.arange(0, 86_400, 300)
    add_cpu_day(days, 0, ts, np.random.default_rng(1).uniform(1, 90, (500, 288)), 300)
    record = days[7][0]
    copy = pickle.loads(pickle.dumps(record))
    assert copy == record
    assert len(pickle.dumps(record)) < 2_000  # not the 500-day block
    before = record.hourly.copy()
    copy.hourly[1] += 1  # a copy's hours are its own
    assert copy != record
    assert np.array_equal(record.hourly, before)
