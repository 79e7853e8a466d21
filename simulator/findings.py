"""Compute Optimizer-style EC2 findings, used to label the simulated fleet.

Semantics (AWS Compute Optimizer, default settings): CPU is judged on the P99.5 of the
5-minute ``Maximum`` over the look-back with 20% headroom (so the target ceiling is
80%); an instance is *idle* when its peak CPU stays under 5% and its network traffic
under 5 MB a day; *under-provisioned* when CPU (or agent memory) P99.5 exceeds the
ceiling; *over-provisioned* when the next smaller size of its family would still keep
CPU and memory P99.5 under the ceiling; else *optimized*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEADROOM = 0.20
CEILING_PCT = 100.0 * (1.0 - HEADROOM)
PERCENTILE = 99.5
IDLE_PEAK_CPU_PCT = 5.0
IDLE_NET_BYTES_PER_DAY = 5 * 1024 * 1024


@dataclass(frozen=True)
class FindingInputs:
    """Summary figures a finding is decided on (kept in the ground truth)."""

    cpu_p995: float
    cpu_peak: float
    mem_p995: float | None
    net_bytes_per_day_max: float


def summarise(
    cpu_max: np.ndarray, mem: np.ndarray, net_in: np.ndarray, net_out: np.ndarray
) -> FindingInputs:
    """P99.5s, peak and the busiest day's network from (days, steps) arrays."""
    mem_ok = mem[~np.isnan(mem)]
    per_day = (net_in + net_out).reshape(cpu_max.shape[0], -1).sum(axis=1)
    return FindingInputs(
        cpu_p995=float(np.percentile(cpu_max, PERCENTILE)),
        cpu_peak=float(cpu_max.max()),
        mem_p995=float(np.percentile(mem_ok, PERCENTILE)) if mem_ok.size else None,
        net_bytes_per_day_max=float(per_day.max()),
    )


def classify(inputs: FindingInputs, vcpu_ratio: float | None, memory_ratio: float | None) -> str:
    """The finding; ratios are current/smaller size (None when no smaller size exists).

    >>> busy = FindingInputs(cpu_p995=91.0, cpu_peak=100.0, mem_p995=None,
    ...                      net_bytes_per_day_max=1e9)
    >>> classify(busy, 2.0, 2.0)
    'underprovisioned'
    >>> classify(FindingInputs(30.0, 41.0, 35.0, 1e9), 2.0, 2.0)
    'overprovisioned'
    >>> classify(FindingInputs(30.0, 41.0, 45.0, 1e9), 2.0, 2.0)  # memory would not fit
    'optimized'
    >>> classify(FindingInputs(2.0, 3.5, None, 1e6), None, None)
    'idle'
    """
    if inputs.cpu_peak < IDLE_PEAK_CPU_PCT and inputs.net_bytes_per_day_max < (
        IDLE_NET_BYTES_PER_DAY
    ):
        return "idle"
    mem = inputs.mem_p995
    if inputs.cpu_p995 > CEILING_PCT or (mem is not None and mem > CEILING_PCT):
        return "underprovisioned"
    if vcpu_ratio is not None and memory_ratio is not None:
        cpu_fits = inputs.cpu_p995 * vcpu_ratio <= CEILING_PCT
        mem_fits = mem is None or mem * memory_ratio <= CEILING_PCT
        if cpu_fits and mem_fits:
            return "overprovisioned"
    return "optimized"
