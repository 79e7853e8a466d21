"""The usage-metric path end to end on a small simulated organisation (data time only)."""

from __future__ import annotations

from evals.cost_intraday import replay
from evals.usage_latency import evaluate_usage, summarise_usage
from services.anomaly.cost.engine import CostEngineConfig
from simulator import SimConfig, simulate_organisation

CONFIG = SimConfig(seed=1, accounts=4, days=60, instances=20, cost_anomalies=8, intraday=True)


def test_metric_backed_runaways_alert_within_the_hour_they_start_and_are_priced() -> None:
    org = simulate_organisation(CONFIG)
    result = evaluate_usage(org, 1, replay(org, CostEngineConfig()))
    steps = [r for r in result["latency"] if r["kind"] in ("spike", "level_shift")]
    assert steps, "the seed must put a spike or level shift on a metered usage type"
    assert all(r["detected"] for r in steps)
    # Data time: the first 5-minute periods of the runaway, not the next CUR delivery.
    assert all(r["latency_min_at_detector"] <= 60 for r in steps)
    summary = summarise_usage([result])
    assert summary["false_positives"] <= 1
    for row in result["impact"]:
        assert row["linked"]  # the CUR's judgement joined the metric incident
        assert row["rate_source"] == "cur"
        assert row["estimate_usd"] > 0
