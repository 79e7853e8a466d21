"""costs.daily -> the bounded history store, rebuilt from the compacted topic on assignment.

State choice: the compacted ``costs.daily`` topic *is* the changelog of the
history (one latest value per series and day), so the service keeps no
snapshot of its own. Whenever the group assigns it a partition, it seeks that
partition to the beginning and replays it, which restores every series of the
partition after a restart or a rebalance, on any replica. Replaying a year of
daily points for thousands of series is a few hundred thousand small records:
seconds, against the hours between refreshes. Revoked partitions' series are
dropped, since another replica now owns them.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.forecast.engine.history import HistoryStore
from shared.events import CostPoint
from shared.kafka import Received


class CostHistory:
    """Applies CostPoints to the store, remembering which partition owns each series."""

    def __init__(self, store: HistoryStore, levels: Sequence[str]) -> None:
        self.store = store
        self._levels = frozenset(levels)
        self._partition_of: dict[str, int] = {}

    def apply(self, batch: Sequence[Received]) -> int:
        """Fold a batch in; returns how many series days changed."""
        changed = 0
        for received in batch:
            point = received.event
            if not isinstance(point, CostPoint):
                continue
            if point.granularity != "daily" or point.level not in self._levels:
                continue
            self._partition_of[point.series_id] = received.partition
            changed += self.store.upsert(
                point.series_id,
                point.account_id,
                point.service,
                point.period_start.date(),
                point.cost,
            )
        return changed

    def drop_partitions(self, partitions: set[int]) -> None:
        """Forget every series on ``partitions``."""
        gone = [s for s, p in self._partition_of.items() if p in partitions]
        for series_id in gone:
            del self._partition_of[series_id]
        self.store.drop(gone)
