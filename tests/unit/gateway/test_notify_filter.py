"""An anomaly the fleet's alert budget held back is stored but raises no alert."""

from __future__ import annotations

from datetime import UTC, datetime

from services.gateway.repositories.ingest import UPSERT_ANOMALY, to_rows
from shared.events import AnomalyEvent

T = datetime(2026, 7, 1, tzinfo=UTC)


def _event(incident: str, notify: bool) -> AnomalyEvent:
    return AnomalyEvent(
        id=f"e-{incident}",
        incident_id=incident,
        action="open",
        kind="metric",
        series_id="i-1",
        account_id="111",
        resource_id="i-1",
        window_start=T,
        window_end=T,
        actual=1.0,
        expected=0.0,
        lower=0.0,
        upper=1.0,
        score=1.0,
        severity="low",
        detector="metric",
        reason="r",
        detected_at=T,
        evidence_metrics=["CPUUtilization"],
        notify=notify,
        suppressed_reason=None if notify else "alert budget: 1 of 1 sent in the last day",
    )


def test_held_back_incidents_are_stored_but_not_pushed() -> None:
    rows = to_rows([(_event("a", True), "anomalies"), (_event("b", False), "anomalies")])
    assert len(rows.by_statement[UPSERT_ANOMALY]) == 2
    assert [a.alert_id for a in rows.alerts] == ["a"]


def test_events_without_the_field_still_notify() -> None:
    legacy = _event("c", True).model_dump(mode="json")
    for name in ("notify", "suppressed_reason", "evidence_metrics"):
        legacy.pop(name)
    assert AnomalyEvent.model_validate(legacy).notify is True
