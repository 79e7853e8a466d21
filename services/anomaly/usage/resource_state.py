"""One billed resource and usage type in the service: its streams, its incident.

The service sees one datapoint at a time, so each stream runs its own one-row
:class:`UsageDetector`; its arrays are kept as plain lists (the changelog codec
carries no numpy) and rebuilt per datapoint, a few microseconds for 168 hours.
The group logic is :mod:`grouping`'s for one group: open while any member stream
is, pricing every member's excess while open, so a NAT gateway's incident covers
both directions of the bytes it bills.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from services.anomaly.usage.detector import STEPS_PER_HOUR, Signal, UsageDetector
from services.anomaly.usage.detector import UsageDetectorConfig as Config

#: Missing periods filled as "no datapoint" before a late one; a longer silence
#: jumps (the windows hold at most 12 periods, so older gaps change nothing).
MAX_GAP_FILL = 12


@dataclass
class UsageStream:
    """One metric's detector state as plain data."""

    arrays: dict[str, list[object]] = field(default_factory=dict)
    last_step: int = -1

    def detector(self, config: Config) -> UsageDetector:
        """The live detector (fresh, or rebuilt from the stored arrays)."""
        det = UsageDetector(1, config)
        for name, value in self.arrays.items():
            current = getattr(det, name)
            setattr(det, name, np.array(value, dtype=current.dtype).reshape(current.shape))
        return det

    def store(self, det: UsageDetector) -> None:
        """Keep the detector's arrays as lists."""
        self.arrays = {k: v.tolist() for k, v in vars(det).items() if isinstance(v, np.ndarray)}


@dataclass
class UsageGroupState:
    """A resource's usage type: member streams and the open incident, if any."""

    account_id: str
    region: str
    resource_id: str
    usage_type: str
    streams: dict[str, UsageStream] = field(default_factory=dict)
    open_streams: set[str] = field(default_factory=set)
    #: The metric that opened the incident (it names the series and the incident id).
    lead: str = ""
    start_step: int = -1
    last_update_step: int = -1
    excess_usd: float = 0.0
    revision: int = 0
    incident_id: str = ""
    source_offset: int = -1

    def close(self) -> Signal | None:
        """Resolve the open incident by a person's verdict (its streams start afresh)."""
        if not self.open_streams:
            return None
        self.open_streams.clear()
        step = max((s.last_step for s in self.streams.values()), default=self.start_step)
        return Signal(0, "resolve", step, self.start_step, 0.0, 0.0, 0.0, self.excess_usd, 0.0)

    def observe(
        self, metric: str, step: int, usage: float, rate: float, config: Config
    ) -> list[Signal]:
        """Judge one datapoint of ``metric``; the group's lifecycle signals (lead's view).

        Between hourly updates an open group yields a ``progress`` signal per period:
        not published to people, but to the cost loop, so the estimate it compares
        with the CUR is priced through the last period seen.
        """
        stream = self.streams.setdefault(metric, UsageStream())
        if step <= stream.last_step:
            return []  # a duplicate or out-of-order period: already judged
        det = stream.detector(config)
        r = np.array([rate])
        if stream.last_step >= 0:
            for gap in range(max(stream.last_step + 1, step - MAX_GAP_FILL), step):
                self._fold(metric, det.observe(gap, np.array([np.nan]), r), 0.0)
        signals = det.observe(step, np.array([usage]), r)
        priced = (usage - float(det.last_expected[0])) * rate
        out = self._fold(metric, signals, priced, det, step, rate)
        stream.last_step = step
        stream.store(det)
        return out

    def _fold(
        self,
        metric: str,
        signals: list[Signal],
        priced: float,
        det: UsageDetector | None = None,
        step: int = -1,
        rate: float = 0.0,
    ) -> list[Signal]:
        out: list[Signal] = []
        was_open = bool(self.open_streams)
        for sig in signals:
            if sig.action == "open":
                if not was_open and not self.open_streams:
                    self.lead, self.start_step = metric, sig.start_step
                    self.last_update_step = sig.step
                    self.excess_usd = sig.excess_usd - priced  # its backlog; this period below
                self.open_streams.add(metric)
            elif sig.action == "resolve":
                self.open_streams.discard(metric)
        if was_open or self.open_streams:
            self.excess_usd += priced
        if det is None:
            return out
        here = det._signal(0, "update", step, np.array([rate]))
        here = replace(here, start_step=self.start_step, excess_usd=self.excess_usd)
        if not was_open and self.open_streams:
            out.append(replace(here, action="open"))
        elif was_open and not self.open_streams:
            out.append(replace(here, action="resolve"))
        elif self.open_streams and step >= self.last_update_step + STEPS_PER_HOUR:
            self.last_update_step = step
            out.append(here)
        elif self.open_streams:
            out.append(replace(here, action="progress"))
        return out
