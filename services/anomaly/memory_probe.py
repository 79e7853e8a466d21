"""Opt-in allocation diffs inside the running service, to find what grows in a soak.

``SPENDSTREAM_ANOMALY_TRACEMALLOC_S=60`` starts ``tracemalloc``, takes a
baseline snapshot after the first interval (past start-up and restores), and
then logs, every interval, the traced total, the process RSS and the top
allocation sites by growth since the baseline. Tracing slows the process
several-fold: for diagnosis only, never in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from pathlib import Path

from shared.logging import get_logger

FRAMES = 6
TOP = 12

log = get_logger(__name__)


def rss_mb() -> float:
    """Resident set size of this process, from /proc (0 where there is none)."""
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return 0.0
    return int(statm.read_text().split()[1]) * 4096 / 1e6


async def probe_memory(interval_s: float, stop: asyncio.Event) -> None:
    """Log the growth of traced allocations every ``interval_s`` until ``stop``."""
    tracemalloc.start(FRAMES)
    baseline: tracemalloc.Snapshot | None = None
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        snapshot = tracemalloc.take_snapshot()
        if baseline is None:
            baseline = snapshot
            continue
        top = snapshot.compare_to(baseline, "traceback")[:TOP]
        log.warning(
            "allocation growth since baseline",
            traced_mb=round(tracemalloc.get_traced_memory()[0] / 1e6, 1),
            rss_mb=round(rss_mb(), 1),
            top=[
                {
                    "kb": round(s.size_diff / 1e3, 1),
                    "blocks": s.count_diff,
                    "at": [f"{f.filename}:{f.lineno}" for f in s.traceback][-FRAMES:],
                }
                for s in top
            ],
        )
