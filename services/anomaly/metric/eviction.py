"""Which metric streams have gone quiet long enough to forget.

Streams churn (instances are replaced, autoscaling groups cycle) and anything
that can write to the datapoint topic can invent resource ids, so trackers of
silent streams must go or the state grows forever. Silence is measured on data
time, not the wall clock: per partition, the clock is the latest point any of
its streams has seen, so a replay or a restored state evicts exactly the same
streams. Points more than ``ceiling`` ahead of the wall clock do not move the
clock, so one forged point from the future cannot evict a whole partition.

>>> from datetime import datetime, timedelta
>>> t = datetime(2024, 1, 10)
>>> seen = [(0, "old", t - timedelta(days=8)), (0, "live", t), (1, "alone", t - timedelta(days=8))]
>>> idle_streams(seen, timedelta(days=7), ceiling=t + timedelta(hours=1))
[(0, 'old')]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def idle_streams(
    last_seen: Iterable[tuple[int, str, datetime | None]],
    horizon: timedelta,
    ceiling: datetime,
) -> list[tuple[int, str]]:
    """``(partition, key)`` of streams silent for more than ``horizon``, sorted.

    ``last_seen`` holds each stream's partition, key and latest point time.
    """
    by_partition: dict[int, list[tuple[str, datetime]]] = {}
    for partition, key, ts in last_seen:
        if ts is not None:
            by_partition.setdefault(partition, []).append((key, ts))
    idle: list[tuple[int, str]] = []
    for partition, streams in by_partition.items():
        clock = max((ts for _, ts in streams if ts <= ceiling), default=None)
        if clock is None:
            continue
        idle += [(partition, key) for key, ts in streams if ts < clock - horizon]
    return sorted(idle)
