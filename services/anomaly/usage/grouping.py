"""One incident per billed resource and usage type, priced over all its metrics.

A NAT gateway bills the bytes of both directions as one usage type; a runaway may
move one direction enough to alert while the other carries a fifth of the excess. So
streams are grouped by (account, resource, usage type): the group is open while any
of its streams is, and while open it prices the excess of every member, so the
estimate covers the whole usage type, not only the metric that crossed its band.
The priced excess is kept per UTC day, the grain the CUR confirms it at.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from services.anomaly.usage.detector import STEPS_PER_DAY, Signal


@dataclass
class GroupIncident:
    """An open (or closed) incident of one resource group."""

    group: int
    opened_step: int
    start_step: int
    streams: set[int] = field(default_factory=set)
    usd_by_day: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    resolved_step: int | None = None

    @property
    def excess_usd(self) -> float:
        """Priced excess so far, all days."""
        return float(sum(self.usd_by_day.values()))


class ResourceGroups:
    """Stream -> group membership and the groups' incidents."""

    def __init__(self, keys: list[tuple[str, ...]]) -> None:
        index: dict[tuple[str, ...], int] = {}
        self.group_of = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
        self.members: dict[int, np.ndarray] = {
            g: np.nonzero(self.group_of == g)[0] for g in range(len(index))
        }
        self.open: dict[int, GroupIncident] = {}
        self.incidents: list[GroupIncident] = []

    def apply(self, signals: list[Signal], step: int, priced_excess: np.ndarray) -> None:
        """Fold one period's signals in, then price the period for open groups.

        ``priced_excess``: (usage - expected) x rate of every stream this period; the
        opening stream's backlog (its window before this period) comes with its signal.
        """
        for sig in signals:
            g = int(self.group_of[sig.stream])
            inc = self.open.get(g)
            if sig.action == "open":
                if inc is None:
                    inc = GroupIncident(g, step, sig.start_step)
                    self.open[g] = inc
                    self.incidents.append(inc)
                    back = sig.excess_usd - float(priced_excess[sig.stream])
                    inc.usd_by_day[sig.start_step // STEPS_PER_DAY] += back
                inc.streams.add(sig.stream)
            elif sig.action == "resolve" and inc is not None:
                inc.streams.discard(sig.stream)
                if not inc.streams:
                    inc.resolved_step = step
                    del self.open[g]
        day = step // STEPS_PER_DAY
        for g, inc in self.open.items():
            inc.usd_by_day[day] += float(priced_excess[self.members[g]].sum())
