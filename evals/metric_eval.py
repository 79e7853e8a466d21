"""Metric incidents on the simulated fleet: the service's trackers, merged and budgeted.

Every CloudWatch stream of a simulated fleet runs through the service's own
``MetricTracker`` and default detector (no broker); stream incidents of one
instance merge into resource incidents (``services.anomaly.fleet``), priced at
the instance's hourly On-Demand price and ranked by the fleet's alert budget.

Matching rule: a resource incident detects an injected anomaly when it is on the
same instance and its window overlaps the anomaly's [start, end + ``MATCH_GRACE``].
Precision = incidents that detect some anomaly / incidents; recall = anomalies
detected / anomalies. Incidents opening in the detector's warm-up are not counted
(the service, too, learns a stream before its alerts mean anything).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.anomaly.fleet.budget import (
    DECIDE_AFTER,
    AlertBudget,
    BudgetConfig,
    impact_usd,
)
from services.anomaly.fleet.resource_incidents import ResourceIncident, StreamSpan, merge_spans
from services.anomaly.metric import MetricDetector, MetricDetectorConfig
from services.anomaly.metric.tracker import MetricTracker, MetricTrackerConfig
from simulator import SimConfig, simulate_organisation
from simulator.fleet_view import DATAPOINT_SERIES, day_timestamps
from simulator.records import InjectedAnomaly

PERIOD = timedelta(minutes=5)
# An anomaly's end (a leak's restart, a spike's fall) is itself a change the
# detectors see a few points later: an hour after the end still belongs to it.
MATCH_GRACE = timedelta(hours=1)
# Demo-sized fleet; 35 days = the 21-day warm-up plus two weeks with anomalies.
EVAL_INSTANCES = 60
EVAL_DAYS = 35
METRIC_ANOMALIES = 4


@dataclass(frozen=True)
class Judged:
    """A resource incident with its price, impact and budget decision."""

    incident: ResourceIncident
    usd: float
    notify: bool


def stream_spans(org: Any) -> dict[str, list[StreamSpan]]:
    """Replay every stream through a fresh tracker; the incidents per instance."""
    config = MetricTrackerConfig(threshold=MetricDetectorConfig().threshold)
    trackers: dict[str, MetricTracker] = {}
    opened: dict[str, tuple[datetime, float]] = {}
    spans: dict[str, list[StreamSpan]] = {}
    for member, day, data in org.iter_instance_days():
        stamps = day_timestamps(day)
        for metric, stat, key in DATAPOINT_SERIES:
            if key == "mem" and not member.load.has_memory_agent:
                continue
            sk = f"{member.instance_id}|{metric}|{stat}"
            tracker = trackers.get(sk)
            if tracker is None:
                tracker = trackers[sk] = MetricTracker(
                    sk, MetricDetector(MetricDetectorConfig()), config
                )
            for ts, value in zip(stamps, data[key].tolist(), strict=True):
                for event in tracker.observe(ts, value, member.account_id, ts, PERIOD):
                    start, peak = opened.get(sk, (event.window_start, 0.0))
                    peak = max(peak, event.score)
                    if event.action == "resolve":
                        opened.pop(sk, None)
                        span = StreamSpan(sk, start, event.window_end, peak)
                        spans.setdefault(member.instance_id, []).append(span)
                    else:
                        opened[sk] = (start, peak)
    for sk, (start, peak) in opened.items():  # still open at the end of the window
        tracker = trackers[sk]
        assert tracker.last_ts is not None
        spans.setdefault(sk.split("|")[0], []).append(
            StreamSpan(sk, start, tracker.last_ts + PERIOD, peak)
        )
    return spans


def judge(
    incidents: list[ResourceIncident], prices: dict[str, float], budget: BudgetConfig
) -> list[Judged]:
    """Price each incident and run the fleet's budget in data-time order."""
    ranker = AlertBudget(budget)
    fleet = len(prices)
    out = []
    for inc in sorted(incidents, key=lambda i: (min(i.end, i.start + DECIDE_AFTER), i.resource_id)):
        usd = impact_usd(prices[inc.resource_id], inc.end - inc.start, PERIOD)
        decided = min(inc.end, inc.start + DECIDE_AFTER)
        out.append(Judged(inc, usd, ranker.admit(decided, usd, fleet).notify))
    return out


def score(judged: list[Judged], truths: list[InjectedAnomaly], after: datetime) -> dict[str, Any]:
    """Precision and recall of all incidents and of the notified ones."""
    result: dict[str, Any] = {}
    for name, chosen in (
        ("all", [j for j in judged if j.incident.start >= after]),
        ("notified", [j for j in judged if j.notify and j.incident.start >= after]),
    ):
        hits = {t.id for t in truths for j in chosen if _matches(j.incident, t)}
        good = sum(1 for j in chosen if any(_matches(j.incident, t) for t in truths))
        result[name] = {
            "incidents": len(chosen),
            "true_incidents": good,
            "precision": round(good / len(chosen), 4) if chosen else 0.0,
            "recall": round(len(hits) / len(truths), 4) if truths else 0.0,
            "missed": sorted(t.id for t in truths if t.id not in hits),
        }
    return result


def _matches(inc: ResourceIncident, truth: InjectedAnomaly) -> bool:
    return (
        inc.resource_id == truth.resource_id
        and inc.start <= truth.end + MATCH_GRACE
        and inc.end >= truth.start
    )


def evaluate_seed(seed: int, budget: BudgetConfig | None = None) -> dict[str, Any]:
    """One organisation: replay, merge, judge, score."""
    cfg = SimConfig(
        seed=seed,
        instances=EVAL_INSTANCES,
        days=EVAL_DAYS,
        metric_anomalies=METRIC_ANOMALIES,
    )
    org = simulate_organisation(cfg)
    truths = [a for a in org.anomalies if a.kind == "metric"]
    prices = {i.instance_id: i.usd_per_hour for i in org.instances}
    spans = stream_spans(org)
    incidents = [inc for rid, s in spans.items() for inc in merge_spans(rid, s)]
    n_stream = sum(len(s) for s in spans.values())
    judged = judge(incidents, prices, budget or BudgetConfig())
    warm = datetime.combine(cfg.start, datetime.min.time(), UTC) + timedelta(days=cfg.warmup_days)
    row: dict[str, Any] = {"seed": seed, "anomalies": len(truths), "stream_incidents": n_stream}
    row.update(score(judged, truths, warm))
    row["kinds"] = {t.id: t.shape for t in truths}
    return row


# Constants of the fleet layer (budget, floor, impact key) were chosen on these
# seeds; the eval reports others. 48 configurations were tried (docs/anomaly-eval.md).
VALIDATION_SEEDS = (101, 102, 103)


def metric_markdown(rows: list[dict[str, Any]], budget: BudgetConfig) -> str:
    """The report section: per seed, all incidents and the notified ones."""
    lines = [
        "",
        "## Metric incidents (simulated fleet)",
        "",
        f"{EVAL_INSTANCES} instances, {EVAL_DAYS} days, {METRIC_ANOMALIES} injected anomalies per",
        "seed (spike, level shift, saturation, leak). Every CloudWatch stream runs through the",
        "service's `MetricTracker` with the default detector; stream incidents of one instance",
        "within 30 min of each other are one resource incident; impact = hourly On-Demand price",
        "x hours lasted (judged after 1 h or at resolve); the alert budget is",
        f"{budget.alerts_per_100_per_day:g} per 100 resources per day, floor "
        f"${budget.min_impact_usd:.2f}.",
        "Matching: same instance and window overlapping [start, end + 1 h] of the injected",
        "anomaly. Precision = matching incidents / incidents, recall = anomalies matched /",
        "anomalies. Incidents opening in the 21-day warm-up are not counted. Budget and floor",
        f"were chosen on validation seeds {', '.join(map(str, VALIDATION_SEEDS))}: 48",
        "configurations tried (impact key price x duration, price x duration x streams,",
        "duration x streams; budget 1, 2, 3, 5 per 100 per day; floor $0, 0.05, 0.10, 0.20).",
        "Best notified precision on validation was 0.10 (duration x streams), recall <= 0.42;",
        "none came near the targets, because the detector's stream incidents do not last",
        "as long as the anomaly (a 3-hour saturation gives a 20-minute incident), so",
        "duration-based impact cannot tell the injected incidents from noise. The defaults",
        "keep the dollar key the issue asks for.",
        "",
        "| seed | stream incidents | resource incidents | precision | recall "
        "| notified | notified precision | notified recall | missed (notified) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a, n = r["all"], r["notified"]
        lines.append(
            f"| {r['seed']} | {r['stream_incidents']} | {a['incidents']} | {a['precision']:.3f} "
            f"| {a['recall']:.3f} | {n['incidents']} | {n['precision']:.3f} | {n['recall']:.3f} "
            f"| {', '.join(n['missed']) or '-'} |"
        )
    return "\n".join(lines) + "\n"
