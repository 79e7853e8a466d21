"""From CUR files and CloudWatch datapoints to REST and real-time alerts.

The same flow as ``make demo`` at small scale: injected anomalies must reach
the gateway's REST API and its SSE stream (the test prints the latency from
the start of ingest to the first alert), and recommendations and month-end
forecasts must be served.
"""

from __future__ import annotations

import calendar
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from demo.pipeline import create_api_key, ingest, running_system, simulate
from demo.results import GatewayClient
from simulator.config import SimConfig
from simulator.organisation import simulate_organisation
from tests.e2e.conftest import E2E_MARKS, SMALL, Budget
from tests.harness.wait import wait_for

pytestmark = E2E_MARKS
# The gateway is ready seconds after start; two minutes bound a wedged one.
GATEWAY_READY_TIMEOUT_S = 120.0
# Days of simulated history the forecast's daily rate is compared with.
RECENT_DAYS = 14
# The projected rest-of-month daily rate must be within this factor of the
# account's recent simulated daily cost: loose enough for weekly seasonality
# and an injected spike, tight enough to catch a wrong unit, a wrong day count
# or a forecast of the wrong series.
RATE_FACTOR = 3.0


def _tail_alerts(client: GatewayClient, into: list[dict[str, Any]], stop: threading.Event) -> None:
    try:
        for alert in client.tail():
            into.append({**alert, "received_at": time.time()})
            if stop.is_set():
                return
    except httpx.HTTPError:
        if not stop.is_set():  # the stream broke while the test still listened
            into.append({"error": "SSE stream closed early"})


def _recent_daily_cost(truth: dict[str, Any], account_id: str, last: date) -> float:
    """The account's mean simulated daily cost over the RECENT_DAYS up to ``last``."""
    config = dict(truth["config"])
    config["start"] = date.fromisoformat(config["start"])
    config["profile_mix"] = tuple(tuple(pair) for pair in config["profile_mix"])
    costs = simulate_organisation(SimConfig(**config)).daily_costs
    mine = costs[costs["account_id"] == account_id]
    daily = mine.groupby(mine["date"].dt.date)["cost"].sum()
    window = [daily.get(d, 0.0) for d in daily.index if 0 <= (last - d).days < RECENT_DAYS]
    return float(sum(window) / RECENT_DAYS)


def _days_after(last: date, month: date) -> int:
    """Days of ``month`` after ``last`` (all of them when ``last`` precedes the month)."""
    length = calendar.monthrange(month.year, month.month)[1]
    return length - last.day if (last.year, last.month) == (month.year, month.month) else length


def test_injected_anomalies_reach_rest_and_sse(stack_dir: Path, budget: Budget) -> None:
    with running_system(stack_dir) as pipeline:
        simulate(pipeline, SMALL)
        # Member accounts: the payer carries only month-close fees, no daily rate.
        members = {
            a["account_id"]
            for a in pipeline.ground_truth["accounts"]  # type: ignore[union-attr]
            if a["role"] == "member"
        }
        client = GatewayClient(pipeline.gateway_url, create_api_key(pipeline))
        wait_for(
            client.ready,
            timeout=min(GATEWAY_READY_TIMEOUT_S, budget.remaining()),
            description="gateway ready",
        )
        alerts: list[dict[str, Any]] = []
        stop = threading.Event()
        tail = threading.Thread(target=_tail_alerts, args=(client, alerts, stop), daemon=True)
        tail.start()

        ingest(pipeline)
        started = pipeline.timings["ingest_started_at"]

        def everything_arrived() -> Any:
            pipeline.check_alive()
            snapshot = client.snapshot()
            savings = any(r["estimated_monthly_savings"] > 0 for r in snapshot.recommendations)
            month_end = any(
                f.get("month_end") and f["account_id"] in members for f in snapshot.forecasts
            )
            return snapshot if snapshot.complete and alerts and savings and month_end else None

        snapshot = wait_for(
            everything_arrived,
            timeout=budget.remaining(),
            interval=2.0,
            description="anomalies, savings, month-end forecasts and an SSE alert",
        )
        stop.set()
        first = min(a["received_at"] for a in alerts)
        print(f"\ningest start -> first SSE alert: {first - started:.1f} s")

        injected = {
            (a["account_id"], a.get("service"))
            for a in pipeline.ground_truth["anomalies"]  # type: ignore[union-attr]
            if a["kind"] in ("spike", "level_shift", "ramp", "new_service")
        }
        costs = client.get("/v1/anomalies", min_impact=0.01, limit=500)["items"]
        found = {(a["account_id"], a.get("service")) for a in costs if a["kind"] == "cost"}
        assert injected & found, f"no injected anomaly among {found}; injected {injected}"
        assert not [a for a in alerts if "error" in a]
        cost_alerts = [a for a in alerts if a.get("source") == "anomaly"]
        assert cost_alerts, f"SSE alerts had no anomaly: {alerts[:3]}"
        assert any(r["estimated_monthly_savings"] > 0 for r in snapshot.recommendations)
        projected = [
            f for f in snapshot.forecasts if f.get("month_end") and f["account_id"] in members
        ]
        assert projected, f"no month-end forecast of a member account: {snapshot.forecasts}"
        for forecast in projected:
            m = forecast["month_end"]
            # Nested, non-degenerate intervals; nothing spent is ever un-spent.
            assert m["lo95"] < m["lo80"] < m["hi80"] < m["hi95"], m
            assert m["projected"] > m["actual_to_date"] >= 0, m
            last = date.fromisoformat(forecast["last_date"])
            rest = _days_after(last, date.fromisoformat(m["month"]))
            rate = (m["projected"] - m["actual_to_date"]) / rest
            simulated = _recent_daily_cost(pipeline.ground_truth, forecast["account_id"], last)
            assert simulated / RATE_FACTOR <= rate <= simulated * RATE_FACTOR, (
                f"{forecast['account_id']}: projected ${rate:.2f}/day for the rest of "
                f"{m['month']}, simulated ${simulated:.2f}/day over the last {RECENT_DAYS} days"
            )
        client.close()
