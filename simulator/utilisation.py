"""5-minute CloudWatch series of one simulated instance, generated per instance-day.

Each (instance, day) draws from its own ``default_rng((seed, instance, day))``, so any
day of any instance can be produced alone, in any order, and always comes out the same:
streams never hold more than one instance-day, and evaluations can fetch one instance.

Model (percent CPU, local time of the instance's office):

* the 5-minute **Average** follows a profile shape between a trough and a peak level
  (diurnal cosine peaking mid-afternoon; business hours Mon-Fri 08-18 only; bursts),
  times lognormal noise;
* the 5-minute **Maximum** is the average times 1.10-1.35 (intra-period peaks), capped
  at 100;
* **network** bytes per period scale with the load level (Sum statistic);
* **memory** (CloudWatch agent ``mem_used_percent``) is a level with mild diurnal drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STEPS_PER_DAY = 288  # 5-minute periods: CloudWatch basic monitoring resolution
STEP_MINUTES = 5
#: Intra-period peak factor: Maximum = Average x (BASE + SPREAD x logistic(N)), so the
#: highest 5-minute peaks run 10-35% above the average, as on real busy hosts.
MAX_BASE, MAX_SPREAD = 1.10, 0.25
#: Lognormal sigma of the 5-minute average around its profile level.
AVG_NOISE_SIGMA = 0.06
BUSINESS_START_H, BUSINESS_END_H = 8, 18


@dataclass(frozen=True)
class MetricShift:
    """An injected anomaly over global steps [start, end).

    ``mode`` says how ``add`` applies: ``"add"`` adds it to the CPU level (spike,
    level shift), ``"saturate"`` raises the CPU level to at least ``add`` percent
    (a pinned host), ``"leak"`` adds to memory a ramp from 0 to ``add`` points
    (a leak until the process restarts at ``end``).
    """

    start_step: int
    end_step: int
    add: float
    mode: str = "add"


@dataclass(frozen=True)
class LoadModel:
    """What drives one instance's utilisation (drawn once per instance)."""

    index: int
    profile: str
    tz_offset_h: int
    cpu_trough: float
    cpu_peak: float
    weekend_factor: float
    bursts_per_day: float
    burst_level: float
    mem_level: float
    has_memory_agent: bool
    net_peak_bytes: float
    net_out_ratio: float
    shifts: tuple[MetricShift, ...] = field(default=())


def _local_hour_and_weekday(
    model: LoadModel, first_weekdays: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Local hour (steps,) and local weekday (days, steps) for days starting on given weekdays."""
    utc_hours = np.arange(STEPS_PER_DAY) * STEP_MINUTES / 60.0
    shifted = utc_hours + model.tz_offset_h
    local_hour = shifted % 24.0
    day_carry = np.floor(shifted / 24.0).astype(int)
    weekday = (first_weekdays[:, None] + day_carry[None, :]) % 7
    return local_hour, weekday


def _level(model: LoadModel, weekday: np.ndarray, local_hour: np.ndarray) -> np.ndarray:
    """Noise-free CPU level (days, steps) of the instance's profile."""
    weekend = weekday >= 5
    if model.profile == "business_hours":
        busy = (~weekend) & (local_hour >= BUSINESS_START_H) & (local_hour < BUSINESS_END_H)
        hump = 0.85 + 0.15 * np.sin(np.pi * (local_hour - BUSINESS_START_H) / 10.0)
        return np.where(busy, model.cpu_peak * hump, model.cpu_trough)
    diurnal = 0.5 - 0.5 * np.cos(2.0 * np.pi * (local_hour - 3.0) / 24.0)
    level = model.cpu_trough + (model.cpu_peak - model.cpu_trough) * diurnal
    return np.where(weekend, level * model.weekend_factor, level)


def generate_days(
    model: LoadModel, seed: int, day_indices: np.ndarray, first_weekdays: np.ndarray
) -> dict[str, np.ndarray]:
    """CPU max/avg, memory and network for the given days, each shaped (days, 288).

    Args:
        model: The instance's load model.
        seed: The organisation seed.
        day_indices: Day numbers within the simulated window.
        first_weekdays: UTC weekday (Mon=0) of each of those days.
    """
    n_days = len(day_indices)
    local_hour, weekday = _local_hour_and_weekday(model, first_weekdays)
    level = np.broadcast_to(_level(model, weekday, local_hour), (n_days, STEPS_PER_DAY)).copy()
    draws = np.empty((n_days, 5, STEPS_PER_DAY))
    bursts = np.zeros((n_days, STEPS_PER_DAY))
    for row, day in enumerate(day_indices):
        rng = np.random.default_rng((seed, 7, model.index, int(day)))
        draws[row] = rng.standard_normal((5, STEPS_PER_DAY))
        if model.bursts_per_day > 0:
            for _ in range(rng.poisson(model.bursts_per_day)):
                begin = int(rng.integers(0, STEPS_PER_DAY))
                bursts[row, begin : begin + int(rng.integers(2, 13))] = model.burst_level
    level = np.maximum(level, bursts)
    steps = day_indices[:, None] * STEPS_PER_DAY + np.arange(STEPS_PER_DAY)[None, :]
    mem_add = np.zeros((n_days, STEPS_PER_DAY))
    for shift in model.shifts:
        inside = (steps >= shift.start_step) & (steps < shift.end_step)
        if shift.mode == "saturate":
            level = np.where(inside, np.maximum(level, shift.add), level)
        elif shift.mode == "leak":
            frac = (steps - shift.start_step) / max(shift.end_step - shift.start_step, 1)
            mem_add = np.where(inside, mem_add + shift.add * frac, mem_add)
        else:
            level = np.where(inside, level + shift.add, level)
    avg = np.clip(level * np.exp(AVG_NOISE_SIGMA * draws[:, 0]), 0.05, 100.0)
    spread = MAX_SPREAD / (1.0 + np.exp(-1.7 * draws[:, 1]))
    cpu_max = np.minimum(avg * (MAX_BASE + spread), 100.0)
    load = level / max(model.cpu_peak, 1e-9)
    net_in = model.net_peak_bytes * (0.15 + load) * np.exp(0.3 * draws[:, 2])
    net_out = net_in * model.net_out_ratio * np.exp(0.2 * draws[:, 3])
    if model.has_memory_agent:
        drift = 3.0 * np.sin(2.0 * np.pi * (local_hour - 9.0) / 24.0)
        mem = np.clip(model.mem_level + drift + mem_add + 1.0 * draws[:, 4], 1.0, 100.0)
    else:
        mem = np.full((n_days, STEPS_PER_DAY), np.nan)
    return {
        "cpu_max": np.round(cpu_max, 4),
        "cpu_avg": np.round(avg, 4),
        "mem": np.round(mem, 4),
        "net_in": np.round(net_in),
        "net_out": np.round(net_out),
    }
