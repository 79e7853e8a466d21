"""Batched, idempotent upserts of consumed events, in one transaction per batch.

Every statement is keyed by a deterministic id and only moves a row *forward*
(a higher lifecycle version, a later ``generated_at``/``as_of``), so replaying a
topic from the beginning, or redelivering a batch after a crash, leaves the
tables exactly as they were. Alerts derived from the events go to
``alert_outbox`` in the same transaction, under an advisory lock so sequence
order equals commit order and stream readers never skip a row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.gateway.alerts.model import (
    Alert,
    from_anomaly,
    from_budget_alert,
    from_recommendation,
    from_restatement,
)
from services.gateway.repositories.recommendation_states import lapse_changed
from shared.events import (
    AnomalyEvent,
    BudgetAlert,
    CostPoint,
    CostRestated,
    DeadLetter,
    Event,
    Forecast,
    Recommendation,
)
from shared.events.anomalies import SEVERITY_ORDER
from shared.events.costs import series_parts

# Any constant works; it only has to be the same in every gateway replica.
OUTBOX_LOCK_KEY = 0x5EED_A1E7
# Lifecycle order within one revision: resolve supersedes update supersedes open.
_ACTION_RANK = {"open": 0, "update": 1, "resolve": 2}

# An incident never changes account: an event reusing another account's incident id
# (a hostile or buggy producer) must not overwrite what that account's tenant sees.
UPSERT_ANOMALY = """
INSERT INTO anomalies (incident_id, last_event_id, version, status, action, revision, kind,
    series_id, account_id, service, severity, severity_rank, impact_usd, window_start,
    window_end, detected_at, opened_at, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (incident_id) DO UPDATE SET
    last_event_id = excluded.last_event_id, version = excluded.version,
    status = excluded.status, action = excluded.action, revision = excluded.revision,
    severity = excluded.severity, severity_rank = excluded.severity_rank,
    impact_usd = excluded.impact_usd, window_start = excluded.window_start,
    window_end = excluded.window_end, detected_at = excluded.detected_at,
    opened_at = LEAST(anomalies.opened_at, excluded.opened_at), payload = excluded.payload
WHERE (excluded.version, excluded.last_event_id) > (anomalies.version, anomalies.last_event_id)
    AND excluded.account_id = anomalies.account_id
"""
INSERT_ANOMALY_EVENT = """
INSERT INTO anomaly_events (id, incident_id, action, revision, detected_at, payload)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING
"""
UPSERT_RECOMMENDATION = """
INSERT INTO recommendations (resource_id, event_id, account_id, region, finding, current_type,
    monthly_savings, regression, generated_at, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (resource_id) DO UPDATE SET
    event_id = excluded.event_id, account_id = excluded.account_id, region = excluded.region,
    finding = excluded.finding, current_type = excluded.current_type,
    monthly_savings = excluded.monthly_savings, regression = excluded.regression,
    generated_at = excluded.generated_at, payload = excluded.payload
WHERE (excluded.generated_at, excluded.event_id)
    > (recommendations.generated_at, recommendations.event_id)
"""
UPSERT_FORECAST = """
INSERT INTO forecasts (series_id, event_id, account_id, service, status, model, generated_at,
    payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (series_id) DO UPDATE SET
    event_id = excluded.event_id, account_id = excluded.account_id, service = excluded.service,
    status = excluded.status, model = excluded.model, generated_at = excluded.generated_at,
    payload = excluded.payload
WHERE (excluded.generated_at, excluded.event_id) > (forecasts.generated_at, forecasts.event_id)
"""
UPSERT_COST = """
INSERT INTO costs_daily (series_id, period_start, event_id, level, granularity, account_id,
    service, usage_type, cost, currency, as_of)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (series_id, period_start) DO UPDATE SET
    event_id = excluded.event_id, cost = excluded.cost, currency = excluded.currency,
    as_of = excluded.as_of
WHERE (excluded.as_of, excluded.event_id) > (costs_daily.as_of, costs_daily.event_id)
"""
# A notice never changes once made (its id names the delivery that restated the day).
INSERT_RESTATEMENT = """
INSERT INTO restatements (id, series_id, period_start, account_id, service, previous_cost,
    new_cost, delta, previous_attempt_id, attempt_id, detected_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING
"""
INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (id, source_topic, dlq_topic, "partition", "offset", reason,
    error_type, service, failed_at, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING
"""
# The owner of a budget alert is the tenant that owns the budget in *our* table, not
# whatever the event claims; it is set once (a resolve after the budget was deleted
# keeps it) and an unknown budget leaves it NULL, so no tenant sees that alert.
UPSERT_BUDGET_ALERT = """
INSERT INTO budget_alerts (incident_id, last_event_id, version, account_id, kind, action, month,
    detected_at, payload, tenant_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT tenant_id FROM budgets WHERE id = $10))
ON CONFLICT (incident_id) DO UPDATE SET
    last_event_id = excluded.last_event_id, version = excluded.version,
    action = excluded.action, detected_at = excluded.detected_at, payload = excluded.payload
WHERE (excluded.version, excluded.last_event_id)
    > (budget_alerts.version, budget_alerts.last_event_id)
"""
# A budget alert is the budget owner's (see UPSERT_BUDGET_ALERT, run earlier in the
# same transaction); every other alert is visible through its account.
INSERT_ALERT = """
INSERT INTO alert_outbox (event_id, source, alert_id, action, account_id, service, severity,
    severity_rank, impact_usd, title, occurred_at, payload, tenant_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
    CASE WHEN $2 = 'budget' THEN
        (SELECT tenant_id FROM budget_alerts WHERE incident_id = $3) END)
ON CONFLICT (event_id) DO NOTHING
"""


def lifecycle_version(action: str, revision: int) -> int:
    """Orders lifecycle events of one incident.

    >>> lifecycle_version("resolve", 2) > lifecycle_version("update", 2)
    True
    >>> lifecycle_version("update", 1) > lifecycle_version("resolve", 0)
    True
    """
    return revision * len(_ACTION_RANK) + _ACTION_RANK[action]


@dataclass
class Rows:
    """Parameter rows per statement for one batch, plus the alerts they raise."""

    by_statement: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)

    def add(self, statement: str, row: tuple[Any, ...]) -> None:
        """Queue one row for ``statement``."""
        self.by_statement.setdefault(statement, []).append(row)


def to_rows(events: Sequence[tuple[Event, str]]) -> Rows:
    """Turn ``(event, topic)`` pairs into statement rows; pure, so cheap to test."""
    rows = Rows()
    for event, topic in events:
        if isinstance(event, AnomalyEvent):
            payload = event.model_dump(mode="json")
            rows.add(
                UPSERT_ANOMALY,
                (event.incident_id, event.id, lifecycle_version(event.action, event.revision),
                 "resolved" if event.action == "resolve" else "open", event.action,
                 event.revision, event.kind, event.series_id, event.account_id, event.service,
                 event.severity, SEVERITY_ORDER[event.severity], event.impact_usd,
                 event.window_start, event.window_end, event.detected_at, event.detected_at,
                 payload),
            )  # fmt: skip
            rows.add(
                INSERT_ANOMALY_EVENT,
                (event.id, event.incident_id, event.action, event.revision, event.detected_at,
                 payload),
            )  # fmt: skip
            if event.notify:  # ranked below the fleet's alert budget: stored, not pushed
                rows.alerts.append(from_anomaly(event, payload))
        elif isinstance(event, Recommendation):
            payload = event.model_dump(mode="json")
            rows.add(
                UPSERT_RECOMMENDATION,
                (event.resource_id, event.id, event.account_id, event.region, event.finding,
                 event.current_type, event.estimated_monthly_savings, event.regression,
                 event.generated_at, payload),
            )  # fmt: skip
            alert = from_recommendation(event, payload)
            if alert is not None:
                rows.alerts.append(alert)
        elif isinstance(event, Forecast):
            rows.add(
                UPSERT_FORECAST,
                (event.series_id, event.id, event.account_id, event.service, event.status,
                 event.model, event.generated_at, event.model_dump(mode="json")),
            )  # fmt: skip
        elif isinstance(event, CostPoint):
            rows.add(
                UPSERT_COST,
                (event.series_id, event.period_start, event.id, event.level, event.granularity,
                 event.account_id, event.service, event.usage_type, event.cost, event.currency,
                 event.as_of),
            )  # fmt: skip
        elif isinstance(event, CostRestated):
            rows.add(
                INSERT_RESTATEMENT,
                (event.id, event.series_id, event.period_start, event.account_id,
                 series_parts(event.series_id)[2], event.previous_cost, event.new_cost,
                 event.delta, event.previous_attempt_id, event.attempt_id, event.detected_at),
            )  # fmt: skip
            rows.alerts.append(from_restatement(event))
        elif isinstance(event, DeadLetter):
            rows.add(
                INSERT_DEAD_LETTER,
                (event.id, event.source_topic, topic, event.partition, event.offset,
                 event.reason, event.error_type, event.service, event.failed_at,
                 event.model_dump(mode="json")),
            )  # fmt: skip
        elif isinstance(event, BudgetAlert):
            payload = event.model_dump(mode="json")
            rows.add(
                UPSERT_BUDGET_ALERT,
                (event.incident_id, event.id, lifecycle_version(event.action, event.revision),
                 event.account_id, event.kind, event.action, event.month, event.detected_at,
                 payload, event.budget_id),
            )  # fmt: skip
            rows.alerts.append(from_budget_alert(event, payload))
    return rows


def _latest(
    rows: list[tuple[Any, ...]],
    key: Callable[[tuple[Any, ...]], Any],
    order: Callable[[tuple[Any, ...]], Any],
) -> list[tuple[Any, ...]]:
    """Keep, per conflict key, only the row the sequential upserts would have ended with."""
    best: dict[Any, tuple[Any, ...]] = {}
    for row in rows:
        k = key(row)
        if k not in best or order(row) > order(best[k]):
            best[k] = row
    return list(best.values())


def _latest_anomalies(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Latest lifecycle version per incident, opened at the earliest time seen in the batch."""
    opened: dict[str, Any] = {}
    for row in rows:
        opened[row[0]] = min(opened.get(row[0], row[16]), row[16])
    latest = _latest(rows, lambda r: r[0], lambda r: (r[2], r[1]))
    return [(*r[:16], opened[r[0]], r[17]) for r in latest]


# How each upsert collapses a batch: only the final state per key reaches the database.
_COLLAPSE: dict[str, Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]]] = {
    UPSERT_ANOMALY: _latest_anomalies,
    UPSERT_RECOMMENDATION: lambda rows: _latest(rows, lambda r: r[0], lambda r: (r[8], r[1])),
    UPSERT_FORECAST: lambda rows: _latest(rows, lambda r: r[0], lambda r: (r[6], r[1])),
    UPSERT_COST: lambda rows: _latest(rows, lambda r: (r[0], r[1]), lambda r: (r[10], r[2])),
    UPSERT_BUDGET_ALERT: lambda rows: _latest(rows, lambda r: r[0], lambda r: (r[2], r[1])),
}


def collapse(rows: Rows) -> Rows:
    """Batching's second gain: a key changed several times in a batch is written once."""
    for statement, collapse_fn in _COLLAPSE.items():
        if statement in rows.by_statement:
            rows.by_statement[statement] = collapse_fn(rows.by_statement[statement])
    return rows


def alert_row(alert: Alert) -> tuple[Any, ...]:
    """The outbox row for one alert."""
    return (
        alert.event_id, alert.source, alert.alert_id, alert.action, alert.account_id,
        alert.service, alert.severity, alert.severity_rank, alert.impact_usd, alert.title,
        alert.occurred_at, alert.payload,
    )  # fmt: skip


async def store(conn: asyncpg.Connection, events: Sequence[tuple[Event, str]]) -> int:
    """Write one batch atomically; returns the number of alert rows offered to the outbox."""
    rows = collapse(to_rows(events))
    async with conn.transaction():
        for statement, params in rows.by_statement.items():
            await conn.executemany(statement, params)
        if UPSERT_RECOMMENDATION in rows.by_statement:
            # People's accept/dismiss decisions hold unless the content changed materially.
            await lapse_changed(conn, [r[0] for r in rows.by_statement[UPSERT_RECOMMENDATION]])
        if rows.alerts:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", OUTBOX_LOCK_KEY)
            await conn.executemany(INSERT_ALERT, [alert_row(a) for a in rows.alerts])
    return len(rows.alerts)
