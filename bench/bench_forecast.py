"""Full forecast refresh throughput: process pool vs a sequential loop, same run.

400 synthetic daily cost series x 365 days (weekly shape, trend, AR noise,
month-start spikes; seeded). A full refresh per series is what the service
does: a 3-fold rolling-origin backtest of every model, selection, the final
fit and the 7/30/90-day forecast with month-end projection. Two methods run
on the same series in the same run, both through the service's pool
(``services.forecast.pool.make_pool``, 2 workers, the default on 2 cores, one
series per task as the refresher submits them): the service's default and
``today`` (seasonal naive, damped Holt and Prophet, the method before issue
19), whose ratio is the speed-up. The sequential baseline (the default method
in this process, one series after another) refreshes a random subset of
SEQUENTIAL_SAMPLE series. The three alternate in rounds so all see the same
machine load. Ratios compare series per second. Prints the projected time for
10,000 series.

Run: ``make bench-forecast`` (about 4 minutes on 2 idle cores); iterate with
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

from evals.forecast_families import TODAY
from services.forecast.engine.config import RefreshConfig
from services.forecast.engine.refresh import RefreshJob, refresh_series
from services.forecast.models.base import DailyHistory

SERIES = 400
DAYS = 365
WORKERS = 2
# Sequential Prophet-loop baseline on a random subset (series/s is per series).
SEQUENTIAL_SAMPLE = 100
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
    config = RefreshConfig()
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
        jobs.append(RefreshJob(f"bench/{i}", "bench", None, history, config, now))
    return jobs


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU time of the processes and their finished children (cmdstan runs in a child)."""
    total = 0.0
    for p in processes:
        t = p.cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
    return total


def main() -> None:
    """Alternate pool rounds and sequential rounds so both see the same machine load."""
    parser = argparse.ArgumentParser(description="forecast refresh: pool vs sequential")
    parser.add_argument("--series", type=int, default=SERIES)
    parser.add_argument("--sample", type=int, default=SEQUENTIAL_SAMPLE)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    series, sample, rounds = args.series, args.sample, args.rounds
    jobs = make_jobs(series)
    baseline = [replace(job, config=TODAY) for job in jobs]
    rng = np.random.default_rng(SEED)
    per_round = series // rounds
    seq_per_round = sample // rounds
    pool_s = seq_s = pool_cpu = seq_cpu = today_s = 0.0
    loads: list[float] = []
    results = []
    pool = make_pool(WORKERS)
    try:
        list(pool.map(refresh_series, jobs[:WORKERS]))  # workers up, models imported
        list(pool.map(refresh_series, baseline[:WORKERS]))
        refresh_series(jobs[0])  # warm the in-process imports like the workers were
        me = psutil.Process()
        workers = [c for c in me.children() if c.name().startswith("python")]
        for r in tqdm(range(rounds), desc="rounds"):
            chunk = jobs[r * per_round : (r + 1) * per_round]
            started, cpu = time.perf_counter(), cpu_seconds(workers)
            # One task per series, as the refresher submits them (run_in_executor).
            futures = [pool.submit(refresh_series, job) for job in chunk]
            results += [f.result() for f in futures]
            pool_s += time.perf_counter() - started
            pool_cpu += cpu_seconds(workers) - cpu
            started = time.perf_counter()
            futures = [
                pool.submit(refresh_series, job) for job in baseline[r * per_round :][:per_round]
            ]
            for f in futures:
                f.result()
            today_s += time.perf_counter() - started
            picks = rng.choice(len(chunk), seq_per_round, replace=False)
            started, cpu = time.perf_counter(), cpu_seconds([me])
            for i in picks:
                refresh_series(chunk[i])
            seq_s += time.perf_counter() - started
            seq_cpu += cpu_seconds([me]) - cpu
            loads.append(os.getloadavg()[0])
    finally:
        pool.shutdown()
    series, sample = per_round * rounds, seq_per_round * rounds
    pool_rate, seq_rate, today_rate = series / pool_s, sample / seq_s, series / today_s
    chosen: dict[str, int] = {}
    for res in results:
        chosen[res.model or res.status] = chosen.get(res.model or res.status, 0) + 1
    print(
        f"machine: {os.cpu_count()} cores; 1-min load average during the run "
        f"{min(loads):.1f}-{max(loads):.1f} (mean {np.mean(loads):.1f}; > 2 means other work "
        "competed for the cores)"
    )
    models = ", ".join(RefreshConfig().models)
    print(f"full refresh (3-fold backtest of every model + final fit + forecast), {DAYS} days each")
    print(
        f"default ({models}), pool of {WORKERS} workers: {series} series in {pool_s:.1f} s "
        f"= {pool_rate:.2f} series/s"
    )
    print(
        f"today ({', '.join(TODAY.models)}), same pool, same series: {today_s:.1f} s = "
        f"{today_rate:.2f} series/s"
    )
    print(f"speed-up default / today: {pool_rate / today_rate:.2f}x (target >= 3x)")
    print(
        f"sequential loop: {sample} random series ({seq_per_round} per round, "
        f"interleaved with the pool's {rounds} rounds) in {seq_s:.1f} s = {seq_rate:.2f} series/s"
    )
    print(
        f"CPU per series: pool {pool_cpu / series:.3f} s, sequential {seq_cpu / sample:.3f} s; "
        f"cores the pool got: {pool_cpu / pool_s:.2f} of {WORKERS}, the loop: {seq_cpu / seq_s:.2f}"
    )
    print(f"ratio pool / sequential: {pool_rate / seq_rate:.2f}x (target >= 1.8x)")
    print(f"projected for {PROJECT_FOR:,} series: {PROJECT_FOR / pool_rate / 60:.1f} min")
    print(f"models chosen: {chosen}")


if __name__ == "__main__":
    main()
