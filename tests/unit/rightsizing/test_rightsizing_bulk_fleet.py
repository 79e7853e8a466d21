"""The bulk update path gives a fleet the very state and recommendations of the streaming one.

``sketches.bulk`` is tuned for speed (in-place arithmetic, 32-bit hour
division, one row-wise sum per regular block, one 16-bit cast per block);
this pins that none of it changes a bin, a sum or a recommendation: a fixed
fleet fed in consumer-sized blocks equals the same points added instance by
instance through ``InstanceState.add``, and ``evaluate_fleet`` says the same.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from services.rightsizing.catalogue import load_catalogue
from services.rightsizing.evaluate import EvaluationConfig, evaluate_fleet
from services.rightsizing.sketches import InstanceState
from services.rightsizing.sketches.bulk import add_cpu_day, add_cpu_points
from tests.unit.rightsizing.rightsizing_synth import DAY_S, MONDAY, STEP_S

TYPES = ("m5.large", "m5.xlarge", "c5.2xlarge", "r5.large", "t3.medium", "m6i.xlarge")
N, DAYS, STEPS, BLOCK = 36, 8, 288, 10


def _fleet(rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """``N x DAYS x STEPS`` CPU: idle, steady, diurnal, office-hours and saturated instances."""
    hour = np.arange(STEPS) * STEP_S // 3600
    diurnal = 0.6 + 0.4 * np.sin(np.pi * (hour - 6) / 12).clip(0)
    office = ((hour >= 8) & (hour < 18)).astype(float)
    level = np.concatenate([[0.3, 0.0], rng.uniform(2, 95, N - 2)])
    shape = np.where((np.arange(N) % 5 == 0)[:, None], 0.03 + office, diurnal)
    noise = np.exp(0.2 * rng.standard_normal((N, DAYS, STEPS)))
    cpu = np.minimum(level[:, None, None] * shape[:, None, :] * noise, 100.0)
    cpu[1] = 0.0  # an instance that reports only zeros
    cpu[3, :, :20] = 0.0  # and one that idles at zero every night
    return cpu, [TYPES[i % len(TYPES)] for i in range(N)]


def _states(types: list[str]) -> list[InstanceState]:
    return [InstanceState(f"i-{i:04d}", account_id="111122223333", region="us-east-1",
                          instance_type=t) for i, t in enumerate(types)]  # fmt: skip


def _evaluate(states: list[InstanceState]) -> list[object]:
    for s in states:
        s.changed = True
    return list(evaluate_fleet(states, load_catalogue(), EvaluationConfig(),
                               datetime(2026, 1, 20, tzinfo=UTC)))  # fmt: skip


def test_a_fleet_in_blocks_equals_the_streaming_path_and_recommends_the_same() -> None:
    cpu, types = _fleet(np.random.default_rng(14))
    streaming, blocks = _states(types), _states(types)
    ragged, ragged_streaming = _states(types), _states(types)
    ts_all = (MONDAY * DAY_S + np.arange(DAYS * STEPS, dtype=np.int64) * STEP_S).reshape(DAYS, -1)
    for i, s in enumerate(streaming):
        s.add("CPUUtilization", "Maximum", ts_all.ravel(), cpu[i].ravel(), STEP_S)
    # Regular consumer blocks: BLOCK instances x one day.
    for day in range(DAYS):
        for lo in range(0, N, BLOCK):
            maps = [s.days for s in blocks[lo : lo + BLOCK]]
            add_cpu_day(maps, MONDAY + day, ts_all[day], cpu[lo : lo + BLOCK, day], STEP_S)
    # Ragged batches: points of every instance and day shuffled, cut at uneven sizes
    # (a day split over two batches sums in two parts, so the streaming side gets
    # the same batches, instance by instance).
    rng = np.random.default_rng(15)
    rows = np.repeat(np.arange(N), DAYS * STEPS)
    order = rng.permutation(rows.size)
    rows, ts, values = rows[order], np.tile(ts_all.ravel(), N)[order], cpu.ravel()[order]
    cuts = np.sort(rng.choice(rows.size, 6, replace=False))
    for part in np.split(np.arange(rows.size), cuts):
        # Within an instance-day the streaming path adds points in time order.
        part = part[np.lexsort((ts[part], rows[part]))]
        add_cpu_points([s.days for s in ragged], rows[part], ts[part], values[part], STEP_S)
        for i, s in enumerate(ragged_streaming):
            mine = part[rows[part] == i]
            if mine.size:
                s.add("CPUUtilization", "Maximum", ts[mine], values[mine], STEP_S)
    for a, b in zip(streaming, blocks, strict=True):
        assert a.days == b.days
    for a, b in zip(ragged_streaming, ragged, strict=True):
        assert a.days == b.days
    for s in streaming + blocks + ragged + ragged_streaming:
        s.cpu_stat = "Maximum"
    expected = _evaluate(streaming)
    assert _evaluate(blocks) == expected
    assert _evaluate(ragged) == _evaluate(ragged_streaming)
    assert {o.finding for o in expected} >= {"idle", "overprovisioned", "underprovisioned"}
