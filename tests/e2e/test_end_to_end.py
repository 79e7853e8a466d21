"""From CUR files and CloudWatch datapoints to REST and real-time alerts.

The same flow as ``make demo`` at small scale: injected anomalies must reach
the gateway's REST API and its SSE stream (the test prints the latency from
the start of ingest to the first alert), and recommendations and month-end
forecasts must be served.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.pipeline import create_api_key, ingest, running_system, simulate
from demo.results import GatewayClient
from tests.e2e.conftest import SMALL
from tests.harness.wait import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# Results trail ingest by the forecast fits and right-sizing's evaluation
# interval; on a loaded 2-core CI machine that is a few minutes at most.
RESULTS_TIMEOUT_S = 420.0


def _tail_alerts(client: GatewayClient, into: list[dict[str, Any]], stop: threading.Event) -> None:
    try:
        for alert in client.tail():
            into.append({**alert, "received_at": time.time()})
            if stop.is_set():
                return
    except httpx.HTTPError:
        if not stop.is_set():  # the stream broke while the test still listened
            into.append({"error": "SSE stream closed early"})


def test_injected_anomalies_reach_rest_and_sse(stack_dir: Path) -> None:
    with running_system(stack_dir) as pipeline:
        simulate(pipeline, SMALL)
        client = GatewayClient(pipeline.gateway_url, create_api_key(pipeline))
        wait_for(client.ready, timeout=120, description="gateway ready")
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
            month_end = any(f.get("month_end") for f in snapshot.forecasts)
            return snapshot if snapshot.complete and alerts and savings and month_end else None

        snapshot = wait_for(
            everything_arrived,
            timeout=RESULTS_TIMEOUT_S,
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
        month_ends = [f["month_end"] for f in snapshot.forecasts if f.get("month_end")]
        assert month_ends
        for m in month_ends:
            assert m["lo80"] <= m["projected"] <= m["hi80"]
        client.close()
