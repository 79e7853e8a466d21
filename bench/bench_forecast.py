"""Full forecast refresh throughput: process pool vs a sequential loop, same run.

1,000 synthetic daily cost series x 365 days (weekly shape, trend, AR noise,
month-start spikes; seeded). A full refresh per series is what the service
does: a 3-fold rolling-origin backtest of seasonal naive, damped Holt and
Prophet, selection, the final fit and the 7/30/90-day forecast with month-end
projection. The pool (2 workers, the service's default on 2 cores) refreshes
all 1,000; the sequential baseline (the same function in this process, one
after another) refreshes a random subset of SEQUENTIAL_SAMPLE series, stated
below, because running it on all 1,000 would double the bench's time. The two
alternate in rounds so both see the same machine load. The ratio compares
series per second. Prints the projected time for 10,000 series.

Run: ``make bench-forecast`` (about 10 minutes on 2 cores).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta

import numpy as np
from tqdm import tqdm

from services.forecast.engine.config import RefreshConfig
from services.forecast.engine.refresh import RefreshJob, refresh_series
from services.forecast.models.base import DailyHistory

SERIES = 1_000
DAYS = 365
WORKERS = 2
# Sequential Prophet-loop baseline on a random subset (series/s is per series).
SEQUENTIAL_SAMPLE = 100
# Pool and sequential runs alternate in rounds, so a change in machine load
# (other processes) hits both measurements alike.
ROUNDS = 10
# Jobs handed to a worker at once: amortises pickling without starving the other.
CHUNKSIZE = 4
PROJECT_FOR = 10_000
SEED = 42


def make_jobs() -> list[RefreshJob]:
    """Seeded synthetic cost series shaped like the simulator's."""
    rng = np.random.default_rng(SEED)
    t = np.arange(DAYS)
    start = date(2025, 1, 1)
    is_first = np.array([(start + timedelta(days=int(i))).day == 1 for i in t])
    config = RefreshConfig()
    now = datetime.now(UTC)
    jobs = []
    for i in range(SERIES):
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


def main() -> None:
    """Alternate pool rounds and sequential rounds so both see the same machine load."""
    jobs = make_jobs()
    rng = np.random.default_rng(SEED)
    per_round = SERIES // ROUNDS
    seq_per_round = SEQUENTIAL_SAMPLE // ROUNDS
    pool_s = seq_s = 0.0
    loads: list[float] = []
    results = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=ctx) as pool:
        list(pool.map(refresh_series, jobs[:WORKERS]))  # start workers, import Prophet
        refresh_series(jobs[0])  # warm the in-process imports like the workers were
        for r in tqdm(range(ROUNDS), desc="rounds"):
            chunk = jobs[r * per_round : (r + 1) * per_round]
            started = time.perf_counter()
            results += list(pool.map(refresh_series, chunk, chunksize=CHUNKSIZE))
            pool_s += time.perf_counter() - started
            picks = rng.choice(len(chunk), seq_per_round, replace=False)
            started = time.perf_counter()
            for i in picks:
                refresh_series(chunk[i])
            seq_s += time.perf_counter() - started
            loads.append(os.getloadavg()[0])
    pool_rate, seq_rate = SERIES / pool_s, SEQUENTIAL_SAMPLE / seq_s
    chosen: dict[str, int] = {}
    for res in results:
        chosen[res.model or res.status] = chosen.get(res.model or res.status, 0) + 1
    print(
        f"machine: {os.cpu_count()} cores; 1-min load average during the run "
        f"{min(loads):.1f}-{max(loads):.1f} (mean {np.mean(loads):.1f}; > 2 means other work "
        "competed for the cores)"
    )
    print(f"full refresh (3-fold backtest x 3 models + final fit + forecast), {DAYS} days each")
    print(f"pool ({WORKERS} workers): {SERIES} series in {pool_s:.1f} s = {pool_rate:.2f} series/s")
    print(
        f"sequential loop: {SEQUENTIAL_SAMPLE} random series ({seq_per_round} per round, "
        f"interleaved with the pool's {ROUNDS} rounds) in {seq_s:.1f} s = {seq_rate:.2f} series/s"
    )
    print(f"ratio pool / sequential: {pool_rate / seq_rate:.2f}x (target >= 1.8x)")
    print(f"projected for {PROJECT_FOR:,} series: {PROJECT_FOR / pool_rate / 60:.1f} min")
    print(f"models chosen: {chosen}")


if __name__ == "__main__":
    main()
