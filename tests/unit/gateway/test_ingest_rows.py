from __future__ import annotations

from services.gateway.repositories import ingest
from tests.unit.gateway import factories as f


def test_rows_per_statement_and_alerts() -> None:
    events = [
        (f.anomaly("i"), "t"),
        (f.anomaly("i", "resolve"), "t"),
        (f.recommendation("r", regression=True), "t"),
        (f.recommendation("r2"), "t"),
        (f.forecast("s"), "t"),
        (f.cost(), "t"),
        (f.dead_letter(), "x.dlq"),
        (f.budget_alert("b"), "t"),
    ]
    rows = ingest.to_rows(events)
    counts = {sql.split()[2]: len(params) for sql, params in rows.by_statement.items()}
    assert counts == {
        "anomalies": 2,
        "anomaly_events": 2,
        "recommendations": 2,
        "forecasts": 1,
        "costs_daily": 1,
        "dead_letters": 1,
        "budget_alerts": 1,
    }
    assert [a.source for a in rows.alerts] == ["anomaly", "anomaly", "recommendation", "budget"]
    dead = rows.by_statement[ingest.INSERT_DEAD_LETTER][0]
    assert dead[2] == "x.dlq"


def test_lifecycle_versions_order_steps() -> None:
    order = [("open", 0), ("update", 0), ("resolve", 0), ("open", 1), ("update", 1)]
    versions = [ingest.lifecycle_version(a, r) for a, r in order]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)


def test_collapse_keeps_the_final_state_per_key() -> None:
    events = [
        (f.anomaly("i", "open", 0, minute=0), "t"),
        (f.anomaly("i", "update", 1, minute=5), "t"),
        (f.anomaly("i", "resolve", 1, minute=9), "t"),
        (f.recommendation("r", savings=1.0, minute=0), "t"),
        (f.recommendation("r", savings=2.0, minute=3), "t"),
        (f.cost(day=0, value=1.0), "t"),
    ]
    rows = ingest.collapse(ingest.to_rows(events))
    [anomaly] = rows.by_statement[ingest.UPSERT_ANOMALY]
    assert (anomaly[4], anomaly[16]) == ("resolve", f.T0)  # latest action, first opened_at
    assert len(rows.by_statement[ingest.INSERT_ANOMALY_EVENT]) == 3  # history keeps every step
    [rec] = rows.by_statement[ingest.UPSERT_RECOMMENDATION]
    assert rec[6] == 2.0
    assert len(rows.alerts) == 3


def test_a_restatement_is_stored_and_alerts_with_its_service_and_magnitude() -> None:
    credit = f.restatement(previous=500.0, new=380.0)
    rows = ingest.to_rows([(credit, "t"), (credit, "t")])
    stored = rows.by_statement[ingest.INSERT_RESTATEMENT]
    assert stored[0][:5] == (credit.id, credit.series_id, credit.period_start, credit.account_id,
                             "AmazonEC2")  # fmt: skip
    [alert, _] = rows.alerts  # the outbox's UNIQUE event id keeps one of the two
    assert (alert.source, alert.action, alert.service) == ("restatement", "restated", "AmazonEC2")
    assert alert.impact_usd == 120.0  # a late credit counts by its size for dollar filters
    assert "credit or refund landed late" in alert.title
    assert alert.severity == "medium"  # 24% of the day's earlier figure
