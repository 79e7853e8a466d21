"""Right-sizing benchmark: sketch state vs a pandas baseline that keeps raw points.

10,000 instances x 14 days of 5-minute CPU (40.3M points), generated in daily
chunks by the same seeded generator for both sides. Each side runs in its own
subprocess so its peak RSS (``ru_maxrss``) is its own:

* ours: the service's state (``InstanceState`` day records with DDSketch bins
  and hour-of-day accumulators) updated through the bulk path, then one full
  evaluation (findings, ranked options, k-means schedules) of every instance;
* baseline: every raw point kept in a pandas DataFrame, then a group-by P99.5
  (plus peak and mean) per instance -- the quantile work alone, no options.

Printed: update throughput, evaluation time, peak memory, ratios, and the
sketch's P99.5 error against the baseline's exact quantile.

Run: ``make bench-rightsizing`` (``--instances``/``--days`` for a smaller run).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

STEPS = 288
# Instances generated and fed per chunk: both sides see the same stream of
# 1000 x 288 blocks, as a consumer would see batches, never the whole day at once.
BLOCK = 1_000
DAY_S = 86_400
FIRST_DAY = 20_454  # 2026-01-05, a Monday
TYPES = ("m5.large", "m5.xlarge", "m5.2xlarge", "c5.xlarge", "r5.large", "m6i.xlarge")


def fleet_shape(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-instance load level, business-hours flag and instance type index."""
    rng = np.random.default_rng(seed)
    return rng.uniform(2, 70, n), rng.random(n) < 0.15, rng.integers(0, len(TYPES), n)


def day_chunk(day: int, level: np.ndarray, business: np.ndarray, seed: int,
              block: int = 0) -> np.ndarray:  # fmt: skip
    """``instances x 288`` CPU percent for one day and block (deterministic)."""
    rng = np.random.default_rng((seed, day, block))
    hour = np.arange(STEPS) * 300 // 3600
    diurnal = 0.6 + 0.4 * np.sin(np.pi * (hour - 6) / 12).clip(0)
    weekday = (FIRST_DAY + day + 3) % 7 < 5
    office = ((hour >= 8) & (hour < 18) & weekday).astype(float)
    shape = np.where(business[:, None], 0.03 + office[None, :], diurnal[None, :])
    noise = np.exp(0.15 * rng.standard_normal((level.size, STEPS)))
    return np.minimum(level[:, None] * shape * noise, 100.0)


def run_ours(n: int, days: int, seed: int, out: Path) -> dict[str, float]:
    from services.rightsizing.catalogue import load_catalogue
    from services.rightsizing.evaluate import EvaluationConfig, evaluate_fleet
    from services.rightsizing.schedules import load_clustering
    from services.rightsizing.sketches import InstanceState
    from services.rightsizing.sketches.bulk import add_cpu_day

    level, business, kind = fleet_shape(n, seed)
    states = [InstanceState(f"i-{i:06d}", account_id="1", region="us-east-1",
                            instance_type=TYPES[kind[i]]) for i in range(n)]  # fmt: skip
    day_maps = [s.days for s in states]
    rss_before = _rss_mb()
    update_s = 0.0
    for day in range(days):
        ts = (FIRST_DAY + day) * DAY_S + np.arange(STEPS, dtype=np.int64) * 300
        for lo in range(0, n, BLOCK):
            hi = min(n, lo + BLOCK)
            values = day_chunk(day, level[lo:hi], business[lo:hi], seed, lo)
            t0 = time.perf_counter()
            add_cpu_day(day_maps[lo:hi], FIRST_DAY + day, ts, values, 300)
            update_s += time.perf_counter() - t0
    for s in states:
        s.cpu_stat, s.changed = "Maximum", True
    data_mb = _rss_mb() - rss_before
    load_clustering()  # what the service's evaluation worker does when it starts
    update_peak_mb = _peak_mb()
    libraries_mb = _rss_mb() - data_mb
    t0 = time.perf_counter()
    p995 = np.array([s.window(days).cpu.quantile(0.995) for s in states])
    quantile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    outcomes = evaluate_fleet(states, load_catalogue(), EvaluationConfig(),
                              datetime.now(UTC))  # fmt: skip
    evaluate_s = time.perf_counter() - t0
    np.save(out, p995)
    findings: dict[str, int] = {}
    for o in outcomes:
        findings[o.finding or "skipped"] = findings.get(o.finding or "skipped", 0) + 1
    return {
        "update_s": update_s,
        "quantile_s": quantile_s,
        "evaluate_s": evaluate_s,
        "data_mb": data_mb,
        "update_peak_mb": update_peak_mb,
        "libraries_mb": libraries_mb,
        "findings": findings,
    }  # type: ignore[dict-item]


def run_baseline(n: int, days: int, seed: int, out: Path) -> dict[str, float]:
    import pandas as pd

    level, business, _ = fleet_shape(n, seed)
    chunks = []
    rss_before = _rss_mb()
    update_s = 0.0
    for day in range(days):
        ts = (FIRST_DAY + day) * DAY_S + np.arange(STEPS, dtype=np.int64) * 300
        for lo in range(0, n, BLOCK):
            hi = min(n, lo + BLOCK)
            values = day_chunk(day, level[lo:hi], business[lo:hi], seed, lo)
            t0 = time.perf_counter()
            chunks.append(pd.DataFrame({
                "instance": np.repeat(np.arange(lo, hi, dtype=np.int32), STEPS),
                "timestamp": pd.to_datetime(np.tile(ts, hi - lo), unit="s"),
                "cpu": values.ravel(),
            }))  # fmt: skip
            update_s += time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = pd.concat(chunks, ignore_index=True)
    del chunks
    update_s += time.perf_counter() - t0
    data_mb = _rss_mb() - rss_before
    update_peak_mb = _peak_mb()
    t0 = time.perf_counter()
    grouped = frame.groupby("instance")["cpu"]
    p995 = grouped.quantile(0.995, interpolation="lower")  # the rank DDSketch estimates
    grouped.max(), grouped.mean()
    evaluate_s = time.perf_counter() - t0
    np.save(out, p995.to_numpy())
    return {
        "update_s": update_s,
        "quantile_s": evaluate_s,
        "evaluate_s": evaluate_s,
        "data_mb": data_mb,
        "update_peak_mb": update_peak_mb,
        "libraries_mb": rss_before,
    }


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, n: int, days: int, seed: int, out: Path) -> None:
    fn = run_ours if mode == "ours" else run_baseline
    t0 = time.perf_counter()
    result = fn(n, days, seed, out)
    result["wall_s"] = time.perf_counter() - t0
    result["peak_rss_mb"] = _peak_mb()
    print(json.dumps(result))


def spawn(mode: str, n: int, days: int, seed: int, out: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "bench.bench_rightsizing", "--child", mode, "--instances",
           str(n), "--days", str(days), "--seed", str(seed), "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="right-sizing benchmark")
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", choices=("ours", "baseline"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.instances, args.days, args.seed, args.out)
        return
    points = args.instances * args.days * STEPS
    print(f"== {args.instances} instances x {args.days} days x {STEPS} = {points:,} points")
    with tempfile.TemporaryDirectory() as tmp:
        ours = spawn("ours", args.instances, args.days, args.seed, Path(tmp) / "ours.npy")
        base = spawn("baseline", args.instances, args.days, args.seed, Path(tmp) / "base.npy")
        error = np.abs(np.load(Path(tmp) / "ours.npy") / np.load(Path(tmp) / "base.npy") - 1)
    ours_total = ours["update_s"] + ours["evaluate_s"]
    base_total = base["update_s"] + base["evaluate_s"]
    rows = [
        ("update (s)", ours["update_s"], base["update_s"]),
        ("update throughput (M points/s)", points / ours["update_s"] / 1e6,
         points / base["update_s"] / 1e6),
        ("P99.5 per instance (s)", ours["quantile_s"], base["quantile_s"]),
        ("one full evaluation (s)", ours["evaluate_s"], base["evaluate_s"]),
        ("update + evaluation (s)", ours_total, base_total),
        ("process wall incl. data generation (s)", ours["wall_s"], base["wall_s"]),
        ("peak RSS (MB)", ours["peak_rss_mb"], base["peak_rss_mb"]),
        ("  peak RSS before evaluation (MB)", ours["update_peak_mb"],
         base["update_peak_mb"]),
        ("  RSS of interpreter + libraries (MB)", ours["libraries_mb"],
         base["libraries_mb"]),
        ("resident MB added by the data (after update)", ours["data_mb"], base["data_mb"]),
    ]  # fmt: skip
    print(f"{'':40s} {'ours':>12s} {'pandas':>12s}")
    for name, a, b in rows:
        print(f"{name:40s} {a:12.2f} {b:12.2f}")
    print(f"speed-up (update + evaluation): {base_total / ours_total:.1f}x (target >= 5x)")
    print(f"peak memory ratio: {base['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x less "
          "(target >= 10x)")  # fmt: skip
    print(f"quantile evaluation speed-up: {base['quantile_s'] / ours['quantile_s']:.1f}x; "
          f"data memory: {base['data_mb'] / max(ours['data_mb'], 1e-9):.1f}x less")  # fmt: skip
    print(f"P99.5 relative error vs exact: max {error.max():.4f}, mean {error.mean():.4f}")
    print(f"our findings: {ours['findings']}")
    print("baseline evaluation is the group-by quantile only; ours also ranks options and "
          "clusters schedules")  # fmt: skip


if __name__ == "__main__":
    main()
