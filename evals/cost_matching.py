"""Incident-level precision, recall, F1 and detection delay against injected truth.

An injected anomaly is *detected* when an incident whose window overlaps the
anomaly's window names the anomaly's series or one of its ancestors (as its
series or among its related series). An incident that matches no injected
anomaly is a false positive. Restatements are not cost anomalies: they are left
out of recall, and incidents that only match a restated day count neither way.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from services.anomaly.cost.replay import FoundIncident


@dataclass(frozen=True)
class Truth:
    """One injected anomaly on a daily series (inclusive dates)."""

    id: str
    kind: str
    series_id: str
    start: date
    end: date
    usage_type: str | None = None


@dataclass(frozen=True)
class Score:
    """The figures for one method on one or more organisations."""

    tp: int
    fp: int
    fn: int
    incidents: int
    precision: float
    recall: float
    f1: float
    median_delay_days: float | None
    rootcause_hits: int = 0
    rootcause_total: int = 0


def names_truth(names: Sequence[str], truth: Truth) -> bool:
    """Whether an incident naming ``names`` names the truth's series or an ancestor."""
    return any(truth.series_id == n or truth.series_id.startswith(n + "/") for n in names)


def overlaps(inc: FoundIncident, truth: Truth) -> bool:
    """Whether the incident's window overlaps the truth's days."""
    return inc.start <= truth.end and inc.end > truth.start


def score(incidents: Sequence[FoundIncident], truths: Sequence[Truth]) -> Score:
    """Score one method's incidents against the injected anomalies."""
    scored = [t for t in truths if t.kind != "restatement"]
    restated = [t for t in truths if t.kind == "restatement"]
    fp = tp_incidents = 0
    for inc in incidents:
        if any(overlaps(inc, t) and names_truth(inc.names, t) for t in scored):
            tp_incidents += 1
        elif not any(overlaps(inc, t) and names_truth(inc.names, t) for t in restated):
            fp += 1
    delays: list[float] = []
    detected = rc_hits = rc_total = 0
    for truth in scored:
        hits = [i for i in incidents if overlaps(i, truth) and names_truth(i.names, truth)]
        if not hits:
            continue
        detected += 1
        first = min(hits, key=lambda i: i.start)
        delays.append(max(0, (first.start - truth.start).days))
        if truth.kind == "spike":
            rc_total += 1
            rc_hits += int(
                first.top_usage_type == truth.usage_type and first.top_usage_share >= 0.8
            )
    fn = len(scored) - detected
    precision = tp_incidents / (tp_incidents + fp) if tp_incidents + fp else 0.0
    recall = detected / len(scored) if scored else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(
        tp=detected,
        fp=fp,
        fn=fn,
        incidents=len(incidents),
        precision=precision,
        recall=recall,
        f1=f1,
        median_delay_days=statistics.median(delays) if delays else None,
        rootcause_hits=rc_hits,
        rootcause_total=rc_total,
    )
