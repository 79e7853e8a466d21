"""The demo's line on metric incidents: injected vs what reached subscribers."""

from __future__ import annotations

from typing import Any

from demo.metric_summary import summarise, wait_for_metric_path

TRUTH: dict[str, Any] = {
    "anomalies": [
        {"id": "cost-1", "kind": "spike", "resource_id": None},
        {
            "id": "metric-000-spike",
            "kind": "metric",
            "resource_id": "i-1",
            "start": "2026-08-29T22:10:00+00:00",
            "end": "2026-08-29T22:35:00+00:00",
        },
        {
            "id": "metric-001-leak",
            "kind": "metric",
            "resource_id": "i-2",
            "start": "2026-08-28T22:40:00+00:00",
            "end": "2026-08-29T10:00:00+00:00",
        },
    ]
}


def _alert(incident: str, resource: str, start: str, end: str, kind: str = "metric") -> dict:
    detail = {"kind": kind, "resource_id": resource, "window_start": start, "window_end": end}
    return {"source": "anomaly", "alert_id": incident, "detail": detail}


def test_incidents_count_once_and_match_the_injected_anomaly_they_overlap() -> None:
    alerts = [
        _alert("a", "i-1", "2026-08-29T22:10:00+00:00", "2026-08-29T22:15:00+00:00"),
        _alert("a", "i-1", "2026-08-29T22:10:00+00:00", "2026-08-29T23:05:00+00:00"),
        _alert("b", "i-3", "2026-08-29T01:00:00+00:00", "2026-08-29T02:00:00+00:00"),
        _alert("c", "i-2", "2026-08-20T01:00:00+00:00", "2026-08-20T02:00:00+00:00"),
        _alert("d", "i-9", "2026-08-20T01:00:00+00:00", "2026-08-20T02:00:00+00:00", "cost"),
    ]
    summary = summarise(TRUTH, alerts)
    assert len(summary.injected) == 2
    assert len(summary.notified) == 3  # a (twice), b, c; the cost alert is not a metric one
    assert summary.found == ["metric-000-spike"]  # c is on i-2, but days before its leak
    line = summary.line()
    assert "2 injected, 3 reached subscribers (1.5x" in line
    assert "missed: metric-001-leak" in line


def test_waiting_for_the_metric_path_stops_at_zero_lag_or_the_deadline() -> None:
    lags = iter([5, 2, 0])
    assert wait_for_metric_path(lambda: next(lags), timeout_s=60.0)
    assert not wait_for_metric_path(lambda: 1, timeout_s=0.0)
