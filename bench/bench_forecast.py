"""Full forecast refresh throughput: process pool vs a sequential loop, same run.

300 synthetic daily cost series x 365 days (weekly shape, trend, AR noise,
month-start spikes; seeded). A full refresh per series is what the service
does: a rolling-origin backtest of every model, selection, the final fit and
the 7/30/90-day forecast with month-end projection. The methods of
``evals.forecast_families.REPORT_METHODS`` run on the same series in the same run:
``today`` (seasonal naive, damped Holt and Prophet, three folds: the method
before issue 19, the speed baseline), ``default`` (the service's) and
``fast`` (the opt-in ``ensemble_fast``). Each goes through the service's pool
(``services.forecast.pool.make_pool``, 2 workers, the default on 2 cores, one
series per task as the refresher submits them) and through a sequential loop
in this process on a random subset of SEQUENTIAL_SAMPLE series. All alternate
in rounds so all see the same machine load. Ratios compare series per
second. Prints the projected time for 10,000 series.

Run: ``make bench-forecast`` (about 5 minutes on 2 idle cores); iterate with
``uv run python -m bench.bench_forecast --series 100 --sample 20``.
"""

from __future__ import annotations

import os

from services.forecast.pool import WORKER_ENV, make_pool

# The sequential loop gets the workers' single BLAS thread too, so both sides run
# the same code the same way (sequentially one thread is no slower: 0.45-0.62 s a
# series vs 0.51-0.68 s with the default two). Set before numpy loads.
os.environ.update(WORKER_ENV)

import argparse
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import psutil
from tqdm import tqdm

from evals.forecast_families import METHODS as ALL_METHODS
from evals.forecast_families import REPORT_METHODS
from services.forecast.engine.refresh import RefreshJob, refresh_series
from services.forecast.models.base import DailyHistory

# The reported methods only (the validation-only variants are not benched).
METHODS = {name: ALL_METHODS[name] for name in REPORT_METHODS}

SERIES = 300
DAYS = 365
WORKERS = 2
# Sequential Prophet-loop baseline on a random subset (series/s is per series).
SEQUENTIAL_SAMPLE = 60
# Pool and sequential runs alternate in rounds, so a change in machine load
# (other processes) hits both measurements alike.
ROUNDS = 10
PROJECT_FOR = 10_000
SEED = 42


def make_jobs(series: int = SERIES) -> list[RefreshJob]:
    """Seeded synthetic cost series shaped like the simulator's."""
    rng = np.random.default_rng(SEED)
    t = np.arange(DAYS)
    start = date(2025, 1, 1)
    is_first = np.array([(start + timedelta(days=int(i))).day == 1 for i in t])
    now = datetime.now(UTC)
    jobs = []
    for i in range(series):
        level = np.exp(rng.uniform(np.log(5), np.log(5000)))
        trend = 1 + rng.uniform(0, 0.004) * t
        weekend = rng.uniform(0.3, 1.1)
        weekly = np.where(t % 7 >= 5, weekend, 1.0)
        noise = np.empty(DAYS)
        noise[0] = 0.0
        for k in range(1, DAYS):
            noise[k] = 0.6 * noise[k - 1] + rng.normal(0, 0.08)
        y = level * trend * weekly * np.exp(noise) + is_first * level * rng.uniform(0, 2)
        history = DailyHistory(start, y)
        jobs.append(RefreshJob(f"bench/{i}", "bench", None, history, METHODS["default"], now))
    return jobs


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU time of the processes and their finished children (cmdstan runs in a child)."""
    total = 0.0
    for p in processes:
        t = p.cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
    return total


def main() -> None:
    """Alternate every method's pool and sequential rounds so all see the same load."""
    parser = argparse.ArgumentParser(description="forecast refresh: methods, pool vs sequential")
    parser.add_argument("--series", type=int, default=SERIES)
    parser.add_argument("--sample", type=int, default=SEQUENTIAL_SAMPLE)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    series, sample, rounds = args.series, args.sample, args.rounds
    base = make_jobs(series)
    jobs = {name: [replace(j, config=config) for j in base] for name, config in METHODS.items()}
    rng = np.random.default_rng(SEED)
    per_round = series // rounds
    seq_per_round = sample // rounds
    pool_s = dict.fromkeys(METHODS, 0.0)
    pool_cpu = dict.fromkeys(METHODS, 0.0)
    seq_s = dict.fromkeys(METHODS, 0.0)
    seq_cpu = dict.fromkeys(METHODS, 0.0)
    loads: list[float] = []
    chosen: dict[str, dict[str, int]] = {name: {} for name in METHODS}
    pool = make_pool(WORKERS)
    try:
        me = psutil.Process()
        for name in METHODS:  # workers up, every method's models imported, here too
            list(pool.map(refresh_series, jobs[name][:WORKERS]))
            refresh_series(jobs[name][0])
        workers = [c for c in me.children() if c.name().startswith("python")]
        for r in tqdm(range(rounds), desc="rounds"):
            picks = rng.choice(per_round, seq_per_round, replace=False)
            for name in METHODS:
                chunk = jobs[name][r * per_round : (r + 1) * per_round]
                started, cpu = time.perf_counter(), cpu_seconds(workers)
                # One task per series, as the refresher submits them (run_in_executor).
                futures = [pool.submit(refresh_series, job) for job in chunk]
                for f in futures:
                    res = f.result()
                    key = res.model or res.status
                    chosen[name][key] = chosen[name].get(key, 0) + 1
                pool_s[name] += time.perf_counter() - started
                pool_cpu[name] += cpu_seconds(workers) - cpu
                started, cpu = time.perf_counter(), cpu_seconds([me])
                for i in picks:
                    refresh_series(chunk[i])
                seq_s[name] += time.perf_counter() - started
                seq_cpu[name] += cpu_seconds([me]) - cpu
            loads.append(os.getloadavg()[0])
    finally:
        pool.shutdown()
    series, sample = per_round * rounds, seq_per_round * rounds
    print(
        f"machine: {os.cpu_count()} cores; 1-min load average during the run "
        f"{min(loads):.1f}-{max(loads):.1f} (mean {np.mean(loads):.1f}; > 2 means other work "
        "competed for the cores)"
    )
    print(
        f"full refresh (rolling-origin backtest of every model + final fit + forecast), "
        f"{series} series x {DAYS} days, pool of {WORKERS} workers; sequential loop on "
        f"{sample} of them ({seq_per_round} per round, interleaved)"
    )
    today_rate = series / pool_s["today"]
    for name, config in METHODS.items():
        rate, seq_rate = series / pool_s[name], sample / seq_s[name]
        print(
            f"{name} ({', '.join(config.models)}; recent fold {config.recent_fold_days} d): "
            f"pool {rate:.2f} series/s, sequential {seq_rate:.2f} series/s, pool/sequential "
            f"{rate / seq_rate:.2f}x (target >= 1.8x), vs today {rate / today_rate:.2f}x "
            f"(target >= 3x); CPU per series pool {pool_cpu[name] / series:.3f} s, "
            f"sequential {seq_cpu[name] / sample:.3f} s; cores the pool got "
            f"{pool_cpu[name] / pool_s[name]:.2f} of {WORKERS}; projected {PROJECT_FOR:,} "
            f"series {PROJECT_FOR / rate / 60:.1f} min; chosen {chosen[name]}"
        )


if __name__ == "__main__":
    main()
