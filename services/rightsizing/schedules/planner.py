"""Find business-hours workloads with k-means and plan off-hours stop schedules.

1. Each instance's mean week (hourly maximum CPU, scaled by its own peak) is
   clustered with k-means (``schedules.kmeans``); clusters whose centroid is clearly
   on/off (many hours near zero *and* some near the peak) hold business-hours
   workloads.
2. For each of those instances, an hour of week is a stop hour when its CPU
   maximum was below the idle level in (nearly) every observed week; short
   stop runs are dropped (not worth a stop/start cycle).
3. A schedule is recommended only when at least two weeks are observed, the
   stop hours were idle in ``min_consistency`` of the (week, hour) cells, and
   enough hours are stopped to matter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from services.rightsizing.schedules.kmeans import kmeans
from services.rightsizing.schedules.profiles import HOURS_PER_WEEK

# One BLAS/OpenMP thread: evaluation already runs in a worker process per core,
# and nested threads oversubscribe the cores (measured: 14x slower on 2 busy cores).
KMEANS_THREADS = 1


@dataclass(frozen=True)
class SchedulePolicy:
    """Thresholds for schedule planning, each with its reason."""

    # Enough clusters to separate flat, spiky, on/off and shifted on/off shapes.
    clusters: int = 8
    # Fixed seed and several restarts: the same fleet always clusters the same way.
    seed: int = 7
    n_init: int = 4
    # Centroid on/off test: >= 25% of hours under 0.3 of peak and >= 10% over 0.6.
    low_level: float = 0.3
    high_level: float = 0.6
    min_low_share: float = 0.25
    min_high_share: float = 0.10
    # An hour is idle when its maximum CPU stays under 5% (Compute Optimizer's
    # idle CPU) or a fifth of the busy-hour level, whichever is higher.
    idle_cpu_pct: float = 5.0
    idle_share_of_busy: float = 0.2
    # Week-over-week consistency: 90% of stop cells idle, over >= 2 weeks.
    min_consistency: float = 0.9
    min_weeks: int = 2
    # A week must be mostly observed to count as a week at all.
    min_week_coverage: float = 0.8
    # Stop runs shorter than 3 hours are not worth a stop/start cycle.
    min_stop_run_hours: int = 3
    # At least 24 stopped hours a week (~14% savings) or it is not worth the change.
    min_stopped_hours: int = 24


@dataclass(frozen=True)
class PlannedSchedule:
    """A stop schedule for one instance."""

    run_hours: list[int]
    stopped_hours: int
    consistency: float
    cluster: int


def _drop_short_runs(stop: np.ndarray, min_run: int) -> np.ndarray:
    """Keep only circular runs of stop hours at least ``min_run`` long."""
    if stop.all() or not stop.any():
        return stop
    start = int(np.argmin(stop))  # rotate so the week starts on a run hour
    rolled = np.roll(stop, -start)
    edges = np.flatnonzero(np.diff(np.concatenate(([False], rolled, [False])).astype(np.int8)))
    keep = np.zeros_like(rolled)
    for lo, hi in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        keep[lo:hi] = (hi - lo) >= min_run
    return np.roll(keep, start)


def plan_one(
    weeks: np.ndarray, policy: SchedulePolicy, cluster: int = -1
) -> PlannedSchedule | None:
    """A schedule for one instance's ``weeks x 168`` hourly max CPU, or None."""
    coverage = (~np.isnan(weeks)).mean(axis=1)
    weeks = weeks[coverage >= policy.min_week_coverage]
    if weeks.shape[0] < policy.min_weeks:
        return None
    observed = ~np.isnan(weeks)
    busy = float(np.percentile(weeks[observed], 90))  # as nanpercentile, without its overhead
    level = max(policy.idle_cpu_pct, policy.idle_share_of_busy * busy)
    idle = np.where(observed, weeks < level, False)
    share = idle.sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
    stop = _drop_short_runs(share >= policy.min_consistency, policy.min_stop_run_hours)
    stopped = int(stop.sum())
    if stopped < policy.min_stopped_hours or stopped == HOURS_PER_WEEK:
        return None
    cells = observed[:, stop]
    consistency = float(idle[:, stop][cells].mean()) if cells.any() else 0.0
    if consistency < policy.min_consistency:
        return None
    run = [int(h) for h in np.flatnonzero(~stop)]
    return PlannedSchedule(run, stopped, round(consistency, 4), cluster)


def on_off_clusters(centroids: np.ndarray, policy: SchedulePolicy) -> set[int]:
    """Indices of centroids shaped like business hours (long lows and real highs)."""
    low = (centroids < policy.low_level).mean(axis=1) >= policy.min_low_share
    high = (centroids > policy.high_level).mean(axis=1) >= policy.min_high_share
    return {int(i) for i in np.flatnonzero(low & high)}


def _distinct_rows(matrix: np.ndarray, enough: int) -> int:
    """Distinct rows (to 6 decimals), counting no further than ``enough``."""
    seen: set[bytes] = set()
    for row in np.ascontiguousarray(matrix.round(6) + 0.0):  # + 0.0: -0.0 equals 0.0
        seen.add(row.tobytes())
        if len(seen) >= enough:
            break
    return len(seen)


def on_off_members(ids: list[str], profiles: np.ndarray, policy: SchedulePolicy) -> dict[str, int]:
    """Cluster normalised profiles; the members of on/off clusters, with their cluster.

    Row ``i`` of ``profiles`` (``n x 168``) belongs to ``ids[i]``; rows are
    clustered in id order, so the result does not depend on the order
    instances were evaluated in.
    """
    if not ids:
        return {}
    order = sorted(range(len(ids)), key=ids.__getitem__)
    # Callers usually pass rows in id order already; then no fleet-sized copy.
    matrix = profiles if order == list(range(len(ids))) else profiles[order]
    k = min(policy.clusters, _distinct_rows(matrix, policy.clusters))
    with threadpool_limits(limits=KMEANS_THREADS):
        centers, labels = kmeans(matrix, k, policy.n_init, policy.seed)
    wanted = on_off_clusters(centers, policy)
    return {
        ids[row]: label
        for row, label in zip(order, labels.tolist(), strict=True)
        if label in wanted
    }
