"""The usage-metric path: detection latency in data time and the priced impact's error.

Each seed's intra-day organisation gets its 5-minute usage metrics
(``simulator.usage_metrics``: consistent with its CUR, anomalies from their start
hour). The account's unit rates are learnt from the CUR of its warm-up weeks (cost ÷
usage amount per usage type and region, ``UnitRateBook``), the service's
``UsageDetector`` steps through every 5-minute period of every stream, and:

* latency = end of the period whose datapoint opened the incident on the anomaly's
  culprit resource, plus the CloudWatch ingestor's poll lag, minus the anomaly's start
  hour (the "at the detector" figure leaves the lag out);
* an incident on a stream and time no injected anomaly explains is a false positive;
* impact: the incident's priced excess over the first whole day the cost path judged
  (its first daily event on the anomaly's series), against that event's CUR impact
  (``impact_usd``); the simulator's injected dollars that day are reported beside it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from services.anomaly.usage.detector import (
    STEPS_PER_DAY,
    Signal,
    UsageDetector,
    UsageDetectorConfig,
)
from services.anomaly.usage.events import UsageStreamRef, usage_event
from services.anomaly.usage.grouping import GroupIncident, ResourceGroups
from services.anomaly.usage.link import IncidentLinker, estimate_error
from services.anomaly.usage.rates import Rate, UnitRateBook
from shared.events import AnomalyEvent
from shared.events.costs import series_id
from simulator.organisation import SimulatedOrg
from simulator.usage_metrics import PERIOD_S, UsageStream, day_usage, usage_streams

#: The CloudWatch ingestor's default lag (``ingestor_cloudwatch_lag_s``): a period is
#: published once it is this old, so it is final.
POLL_LAG = timedelta(seconds=600)
#: Share of incidents whose estimate must be within this of the CUR impact (goal 80%).
IMPACT_TOLERANCE = 0.30
#: Days of CUR the unit rates are learnt from (the warm-up: delivered long before any
#: anomaly starts).
RATE_DAYS = 21


def learn_rates(org: SimulatedOrg, days: int = RATE_DAYS) -> UnitRateBook:
    """The rate book the CUR of the first ``days`` days teaches (cost ÷ usage amount)."""
    book = UnitRateBook()
    for i, s in enumerate(org.series):
        if s.line_item_type != "Usage" or s.kind != "usage" or s.rate <= 0:
            continue
        cost = float(org.costs[i, :days].sum())
        rate = _cur_rate(s)
        book.learn(s.account_id, s.usage_type, s.region, cost, cost / rate if rate else 0.0)
    return book


def _cur_rate(s: Any) -> float:
    from shared.instance_prices import REGION_PRICE_FACTOR

    return float(s.rate * REGION_PRICE_FACTOR.get(s.region, 1.0))


def run_detector(
    org: SimulatedOrg, config: UsageDetectorConfig, use_catalogue: bool = False
) -> tuple[list[UsageStream], ResourceGroups, list[Rate], int]:
    """Step every 5-minute stream through the organisation; return its resource incidents."""
    streams = [s for s in usage_streams(org) if s.period_s == PERIOD_S]
    book = UnitRateBook() if use_catalogue else learn_rates(org)
    rates = [book.rate(s.account_id, s.usage_type, s.region) for s in streams]
    rate = np.array([r.usd_per_unit for r in rates])
    det = UsageDetector(len(streams), config)
    groups = ResourceGroups([(s.account_id, s.resource_id, s.usage_type) for s in streams])
    epoch_day = (org.dates[0] - date(1970, 1, 1)).days
    for d in range(len(org.dates)):
        usage = day_usage(org, streams, d)
        for k in range(STEPS_PER_DAY):
            step = (epoch_day + d) * STEPS_PER_DAY + k
            x = usage[:, k]
            signals = det.observe(step, x, rate)
            groups.apply(signals, step, (x - det.last_expected) * rate)
    return streams, groups, rates, epoch_day


def _ref(st: UsageStream) -> UsageStreamRef:
    return UsageStreamRef(st.spec, st.account_id, st.region, st.resource_id, st.usage_type)


def _instant(org: SimulatedOrg, step: int, epoch_day: int) -> datetime:
    origin = datetime.combine(org.dates[0], time(), UTC)
    return origin + timedelta(seconds=PERIOD_S * (step - epoch_day * STEPS_PER_DAY))


def evaluate_usage(
    org: SimulatedOrg,
    seed: int,
    cost_events: list[AnomalyEvent],
    config: UsageDetectorConfig | None = None,
) -> dict[str, Any]:
    """Latency rows, impact rows and false positives of the usage path on one org."""
    cfg = config or UsageDetectorConfig()
    streams, groups, rates_of, epoch_day = run_detector(org, cfg)
    incidents = groups.incidents
    explained: set[int] = set()
    latency: list[dict[str, Any]] = []
    impact: list[dict[str, Any]] = []
    for a in org.anomalies:
        if a.kind in ("metric", "restatement") or not isinstance(a.start, date):
            continue
        culprit = org.culprit.get(a.series_id or "")
        mine = [
            k
            for k, st in enumerate(streams)
            if org.series[st.series].series_id == a.series_id and st.resource == culprit
        ]
        if not mine:
            continue  # no usage metric bills as this series: not metric-backed
        start = datetime.combine(a.start, time(a.start_hour), UTC)  # type: ignore[arg-type]
        start_step = (epoch_day + (a.start - org.dates[0]).days) * STEPS_PER_DAY + a.start_hour * 12  # type: ignore[operator]
        end_step = (epoch_day + (a.end - org.dates[0]).days + 2) * STEPS_PER_DAY  # type: ignore[operator]
        mine_groups = {int(groups.group_of[k]) for k in mine}
        hits = [
            j
            for j, inc in enumerate(incidents)
            if inc.group in mine_groups and start_step - 12 <= inc.opened_step < end_step
        ]
        row: dict[str, Any] = {
            "truth": f"s{seed}-{a.id}",
            "kind": a.kind,
            "usage_type": a.usage_type,
            "start": start.isoformat(),
        }
        explained.update(hits)
        if not hits:
            latency.append({**row, "detected": False})
            continue
        first = min(hits, key=lambda j: incidents[j].opened_step)
        period_end = _instant(org, incidents[first].opened_step + 1, epoch_day)
        at_detector = (period_end - start).total_seconds() / 60
        latency.append(
            {
                **row,
                "detected": True,
                "alert": (period_end + POLL_LAG).isoformat(),
                "latency_min_at_detector": round(at_detector, 1),
                "latency_min": round(at_detector + POLL_LAG.total_seconds() / 60, 1),
            }
        )
        ref = _ref(streams[mine[0]])
        priced = _impact(
            org,
            a,
            row,
            [incidents[j] for j in hits],
            cost_events,
            epoch_day,
            ref,
            rates_of[mine[0]],
        )
        if priced is not None:
            impact.append(priced)
    fp = [j for j in range(len(incidents)) if j not in explained]
    return {
        "streams": len(streams),
        "incidents": len(incidents),
        "false_positives": len(fp),
        "latency": latency,
        "impact": impact,
    }


def _impact(
    org: SimulatedOrg,
    a: Any,
    row: dict[str, Any],
    incs: list[GroupIncident],
    cost_events: list[AnomalyEvent],
    epoch_day: int,
    ref: UsageStreamRef,
    rate: Rate,
) -> dict[str, Any] | None:
    """The estimate over the first whole day the CUR judged, against that judgement.

    The comparison goes through the service's ``IncidentLinker``: the metric incident's
    event is observed, the CUR's daily event confirms it, and the error is the one the
    linker records on the re-issued cost event (which must carry the metric's id).
    """
    sid = series_id("usage_type", "daily", a.account_id, a.service, a.usage_type)
    daily = sorted(
        (
            e
            for e in cost_events
            if e.series_id == sid
            and e.action != "resolve"
            and e.window_end - e.window_start == timedelta(days=1)
            and e.window_start.date() >= a.start
            and e.impact_usd is not None
        ),
        key=lambda e: (e.window_start, e.detected_at),
    )
    if not daily:
        return None
    confirm = daily[0]
    d = (confirm.window_start.date() - org.dates[0]).days
    estimate = sum(inc.usd_by_day.get(epoch_day + d, 0.0) for inc in incs)
    cur = float(confirm.impact_usd or 0.0)
    series = next(i for i, s in enumerate(org.series) if s.series_id == a.series_id)
    injected = float(org.extra[series, d])
    first = min(incs, key=lambda inc: inc.opened_step)
    last = max((inc.resolved_step or (epoch_day + len(org.dates)) * STEPS_PER_DAY) for inc in incs)
    signal = Signal(0, "open", last, first.start_step, 0.0, 0.0, 0.0, first.excess_usd, 0.0)
    metric_event = usage_event(ref, signal, rate, 0)
    linker = IncidentLinker()
    linker.observe_metric(metric_event)
    linked = linker.confirm(confirm, estimate)
    return {
        **row,
        "day": confirm.window_start.date().isoformat(),
        "estimate_usd": round(estimate, 2),
        "cur_impact_usd": round(cur, 2),
        "injected_usd": round(injected, 2),
        "linked": linked.incident_id == metric_event.incident_id,
        "error": linked.impact_estimate_error,
        "rate_source": rate.source,
        "error_vs_injected": estimate_error(estimate, injected),
    }


def summarise_usage(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled latency (minutes), recall, false positives and impact accuracy."""
    lat = [r for res in results for r in res["latency"]]
    found = sorted(r["latency_min"] for r in lat if r["detected"])
    at_det = sorted(r["latency_min_at_detector"] for r in lat if r["detected"])
    # A confirmation the linker did not join (error None) counts as a miss.
    imp = [r for res in results for r in res["impact"] if r["cur_impact_usd"] != 0]
    within = [r for r in imp if r["error"] is not None and abs(r["error"]) <= IMPACT_TOLERANCE]
    within_inj = [
        r
        for r in imp
        if r["error_vs_injected"] is not None and abs(r["error_vs_injected"]) <= IMPACT_TOLERANCE
    ]
    incidents = sum(res["incidents"] for res in results)
    fp = sum(res["false_positives"] for res in results)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in lat:
        if r["detected"]:
            by_kind[r["kind"]].append(r["latency_min"])
    return {
        "metric_backed": len(lat),
        "detected": len(found),
        "recall": round(len(found) / len(lat), 4) if lat else 0.0,
        "incidents": incidents,
        "false_positives": fp,
        "precision": round((incidents - fp) / incidents, 4) if incidents else 0.0,
        "median_latency_min": round(statistics.median(found), 1) if found else None,
        "p90_latency_min": round(found[min(len(found) - 1, int(0.9 * len(found)))], 1)
        if found
        else None,
        "median_latency_min_at_detector": round(statistics.median(at_det), 1) if at_det else None,
        "median_latency_min_by_kind": {
            k: round(statistics.median(v), 1) for k, v in sorted(by_kind.items())
        },
        "impact_compared": len(imp),
        "linked_to_metric_incident": sum(1 for r in imp if r.get("linked")),
        "impact_within_30pct": len(within),
        "impact_share_within_30pct": round(len(within) / len(imp), 3) if imp else None,
        "impact_share_within_30pct_of_injected": round(len(within_inj) / len(imp), 3)
        if imp
        else None,
        "median_abs_error": round(
            statistics.median(abs(r["error"]) for r in imp if r["error"] is not None), 3
        )
        if any(r["error"] is not None for r in imp)
        else None,
    }


def config_json(config: UsageDetectorConfig) -> dict[str, Any]:
    """The detector's constants as JSON."""
    return asdict(config)
