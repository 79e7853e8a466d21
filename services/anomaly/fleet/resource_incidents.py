"""Stream incidents of one resource merged into resource-level incidents.

A host in trouble moves several metrics at once (CPU Average and Maximum,
network, memory); paging once per metric and statistic multiplies one problem
into five alerts. Stream incidents of one resource whose windows overlap, or
lie within ``MERGE_GAP`` of each other, are one resource incident whose
evidence lists the metrics that moved.

>>> from datetime import datetime, timedelta, UTC
>>> t = datetime(2026, 7, 1, tzinfo=UTC)
>>> m = timedelta(minutes=5)
>>> spans = [
...     StreamSpan("i-1|CPUUtilization|Average", t, t + 6 * m, 0.999),
...     StreamSpan("i-1|NetworkIn|Sum", t + 2 * m, t + 9 * m, 0.995),
...     StreamSpan("i-1|CPUUtilization|Maximum", t + 40 * m, t + 41 * m, 0.99),
... ]
>>> [(r.metrics, r.streams) for r in merge_spans("i-1", spans)]
[(('CPUUtilization', 'NetworkIn'), 2), (('CPUUtilization',), 1)]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Two stream incidents of one host up to 30 minutes apart are one episode: the
# detectors of a metric and of its statistics react a few points apart, and a
# resolve needs 3 normal points (15 min) before the next one may open.
MERGE_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class StreamSpan:
    """One stream incident: ``resource|metric|stat``, its window and peak score."""

    stream: str
    start: datetime
    end: datetime
    score: float

    @property
    def metric(self) -> str:
        """The metric name of the stream key."""
        return [*self.stream.split("|"), ""][1]


@dataclass(frozen=True)
class ResourceIncident:
    """One episode of one resource, with the metrics that moved as its evidence."""

    resource_id: str
    start: datetime
    end: datetime
    metrics: tuple[str, ...]
    streams: int
    score: float


def merge_spans(
    resource_id: str, spans: list[StreamSpan], gap: timedelta = MERGE_GAP
) -> list[ResourceIncident]:
    """Union the spans of one resource into episodes (sorted by start; order-free input)."""
    ordered = sorted(spans, key=lambda s: (s.start, s.stream))
    out: list[ResourceIncident] = []
    group: list[StreamSpan] = []
    end = datetime.min
    for span in ordered:
        if group and span.start > end + gap:
            out.append(_episode(resource_id, group))
            group = []
        end = max(end, span.end) if group else span.end
        group.append(span)
    if group:
        out.append(_episode(resource_id, group))
    return out


def _episode(resource_id: str, group: list[StreamSpan]) -> ResourceIncident:
    return ResourceIncident(
        resource_id=resource_id,
        start=min(s.start for s in group),
        end=max(s.end for s in group),
        metrics=tuple(sorted({s.metric for s in group})),
        streams=len({s.stream for s in group}),
        score=max(s.score for s in group),
    )
