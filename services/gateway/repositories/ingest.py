"""Set-based, idempotent upserts of consumed events, in one transaction per batch.

Every statement is keyed by a deterministic id and only moves a row *forward*
(a higher lifecycle version, a later ``generated_at``/``as_of``), so replaying a
topic from the beginning, or redelivering a batch after a crash, leaves the
tables exactly as they were. Alerts derived from the events go to
``alert_outbox`` in the same transaction, under an advisory lock so sequence
order equals commit order and stream readers never skip a row.

Each table's rows are COPYed into a session staging table and applied by one
``INSERT … SELECT … ON CONFLICT`` (see :class:`Target`); ``collapse`` first
keeps one row per key, as one statement may not update a row twice.
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
    from_commitment_alert,
    from_recommendation,
    from_restatement,
)
from services.gateway.repositories.recommendation_states import lapse_changed
from shared.events import (
    AnomalyEvent,
    BudgetAlert,
    CommitmentAlert,
    CommitmentReport,
    CostPoint,
    CostRestated,
    DeadLetter,
    Event,
    Forecast,
    Implementation,
    Recommendation,
)
from shared.events.anomalies import SEVERITY_ORDER
from shared.events.costs import series_parts

# Any constant works; it only has to be the same in every gateway replica.
OUTBOX_LOCK_KEY = 0x5EED_A1E7
# Lifecycle order within one revision: resolve supersedes update supersedes open.
_ACTION_RANK = {"open": 0, "update": 1, "resolve": 2}


@dataclass(frozen=True)
class Target:
    """One table the consumer writes, as a per-row statement and as a set-based one.

    ``inputs`` are the row tuple's fields in order (``to_rows`` emits them);
    ``derived`` maps further columns to SQL over inputs (``{name}`` placeholders),
    so the per-row form and the staged form share one definition.
    """

    table: str
    inputs: tuple[str, ...]
    conflict: str
    derived: tuple[tuple[str, str], ...] = ()
    # Inputs that only feed ``derived`` and are not columns of ``table``.
    helpers: tuple[str, ...] = ()

    @property
    def columns(self) -> str:
        """The target's column list the statements fill."""
        direct = [c for c in self.inputs if c not in self.helpers]
        return ", ".join(direct + [column for column, _ in self.derived])

    def _values(self, ref: dict[str, str]) -> str:
        direct = [ref[c] for c in self.inputs if c not in self.helpers]
        return ", ".join(direct + [expr.format(**ref) for _, expr in self.derived])

    @property
    def row_sql(self) -> str:
        """The statement for one row: ``$1..$n`` in ``inputs`` order."""
        ref = {c: f"${i}" for i, c in enumerate(self.inputs, 1)}
        return (
            f"INSERT INTO {self.table} ({self.columns})\n"
            f"VALUES ({self._values(ref)})\n{self.conflict}"
        )

    @property
    def stage(self) -> str:
        """The staging table's name (in ``pg_temp``, never shadowing a real table)."""
        return f"ingest_{self.table}"

    @property
    def create_stage_sql(self) -> str:
        """Per-session staging table with the target's column types, emptied at each commit."""
        items = [c if c not in self.helpers else f"NULL::text AS {c}" for c in self.inputs]
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} ON COMMIT DELETE ROWS AS "
            f"SELECT {', '.join(items)}, 0::integer AS n FROM {self.table} WITH NO DATA"
        )

    @property
    def set_sql(self) -> str:
        """One statement for all staged rows, in arrival order (``n``) like the per-row loop."""
        ref = {c: f"s.{c}" for c in self.inputs}
        return (
            f"INSERT INTO {self.table} ({self.columns})\n"
            f"SELECT {self._values(ref)} FROM pg_temp.{self.stage} s ORDER BY s.n\n"
            f"{self.conflict}"
        )


# An incident never changes account: an event reusing another account's incident id
# (a hostile or buggy producer) must not overwrite what that account's tenant sees.
ANOMALIES = Target(
    "anomalies",
    ("incident_id", "last_event_id", "version", "status", "action", "revision", "kind",
     "series_id", "account_id", "service", "severity", "severity_rank", "impact_usd",
     "window_start", "window_end", "detected_at", "opened_at", "payload"),
    """ON CONFLICT (incident_id) DO UPDATE SET
    last_event_id = excluded.last_event_id, version = excluded.version,
    status = excluded.status, action = excluded.action, revision = excluded.revision,
    severity = excluded.severity, severity_rank = excluded.severity_rank,
    impact_usd = excluded.impact_usd, window_start = excluded.window_start,
    window_end = excluded.window_end, detected_at = excluded.detected_at,
    opened_at = LEAST(anomalies.opened_at, excluded.opened_at), payload = excluded.payload
WHERE (excluded.version, excluded.last_event_id) > (anomalies.version, anomalies.last_event_id)
    AND excluded.account_id = anomalies.account_id""",
)  # fmt: skip
ANOMALY_EVENTS = Target(
    "anomaly_events",
    ("id", "incident_id", "action", "revision", "detected_at", "payload"),
    "ON CONFLICT (id) DO NOTHING",
)
RECOMMENDATIONS = Target(
    "recommendations",
    ("resource_id", "event_id", "account_id", "region", "finding", "current_type",
     "monthly_savings", "regression", "generated_at", "payload"),
    """ON CONFLICT (resource_id) DO UPDATE SET
    event_id = excluded.event_id, account_id = excluded.account_id, region = excluded.region,
    finding = excluded.finding, current_type = excluded.current_type,
    monthly_savings = excluded.monthly_savings, regression = excluded.regression,
    generated_at = excluded.generated_at, payload = excluded.payload
WHERE (excluded.generated_at, excluded.event_id)
    > (recommendations.generated_at, recommendations.event_id)""",
)  # fmt: skip
FORECASTS = Target(
    "forecasts",
    ("series_id", "event_id", "account_id", "service", "status", "model", "generated_at",
     "payload"),
    """ON CONFLICT (series_id) DO UPDATE SET
    event_id = excluded.event_id, account_id = excluded.account_id, service = excluded.service,
    status = excluded.status, model = excluded.model, generated_at = excluded.generated_at,
    payload = excluded.payload
WHERE (excluded.generated_at, excluded.event_id) > (forecasts.generated_at, forecasts.event_id)""",
)  # fmt: skip
COSTS = Target(
    "costs_daily",
    ("series_id", "period_start", "event_id", "level", "granularity", "account_id", "service",
     "usage_type", "cost", "currency", "as_of"),
    """ON CONFLICT (series_id, period_start) DO UPDATE SET
    event_id = excluded.event_id, cost = excluded.cost, currency = excluded.currency,
    as_of = excluded.as_of
WHERE (excluded.as_of, excluded.event_id) > (costs_daily.as_of, costs_daily.event_id)""",
)  # fmt: skip
# A notice never changes once made (its id names the delivery that restated the day).
RESTATEMENTS = Target(
    "restatements",
    ("id", "series_id", "period_start", "account_id", "service", "previous_cost", "new_cost",
     "delta", "previous_attempt_id", "attempt_id", "detected_at"),
    "ON CONFLICT (id) DO NOTHING",
)  # fmt: skip
# One report per account, moving forward only; an account never changes (the key is it).
COMMITMENT_REPORTS = Target(
    "commitment_reports",
    ("account_id", "event_id", "coverage", "utilisation", "eligible_on_demand",
     "best_monthly_savings", "window_end", "generated_at", "payload"),
    """ON CONFLICT (account_id) DO UPDATE SET
    event_id = excluded.event_id, coverage = excluded.coverage,
    utilisation = excluded.utilisation, eligible_on_demand = excluded.eligible_on_demand,
    best_monthly_savings = excluded.best_monthly_savings, window_end = excluded.window_end,
    generated_at = excluded.generated_at, payload = excluded.payload
WHERE (excluded.generated_at, excluded.event_id)
    > (commitment_reports.generated_at, commitment_reports.event_id)""",
)  # fmt: skip
COMMITMENT_ALERTS = Target(
    "commitment_alerts",
    ("id", "account_id", "arn", "kind", "reason", "utilisation", "end_at", "detected_at",
     "payload"),
    "ON CONFLICT (id) DO NOTHING",
)  # fmt: skip
# One row per instance, moving forward only: a later measurement, then a later generation.
IMPLEMENTATIONS = Target(
    "implementations",
    ("resource_id", "event_id", "account_id", "region", "recommendation_id", "kind",
     "implemented_at", "estimated_monthly_savings", "realised_monthly_savings",
     "measured_through", "generated_at", "payload"),
    """ON CONFLICT (resource_id) DO UPDATE SET
    event_id = excluded.event_id, account_id = excluded.account_id, region = excluded.region,
    recommendation_id = excluded.recommendation_id, kind = excluded.kind,
    implemented_at = excluded.implemented_at,
    estimated_monthly_savings = excluded.estimated_monthly_savings,
    realised_monthly_savings = excluded.realised_monthly_savings,
    measured_through = excluded.measured_through, generated_at = excluded.generated_at,
    payload = excluded.payload
WHERE (COALESCE(excluded.measured_through, '-infinity'), excluded.generated_at, excluded.event_id)
    > (COALESCE(implementations.measured_through, '-infinity'), implementations.generated_at,
       implementations.event_id)""",
)  # fmt: skip
DEAD_LETTERS = Target(
    "dead_letters",
    ("id", "source_topic", "dlq_topic", '"partition"', '"offset"', "reason", "error_type",
     "service", "failed_at", "payload"),
    "ON CONFLICT (id) DO NOTHING",
)  # fmt: skip
# The owner of a budget alert is the tenant that owns the budget in *our* table, not
# whatever the event claims; it is set once (a resolve after the budget was deleted
# keeps it) and an unknown budget leaves it NULL, so no tenant sees that alert.
BUDGET_ALERTS = Target(
    "budget_alerts",
    ("incident_id", "last_event_id", "version", "account_id", "kind", "action", "month",
     "detected_at", "payload", "budget_id"),
    """ON CONFLICT (incident_id) DO UPDATE SET
    last_event_id = excluded.last_event_id, version = excluded.version,
    action = excluded.action, detected_at = excluded.detected_at, payload = excluded.payload
WHERE (excluded.version, excluded.last_event_id)
    > (budget_alerts.version, budget_alerts.last_event_id)""",
    derived=(("tenant_id", "(SELECT tenant_id FROM budgets WHERE id = {budget_id})"),),
    helpers=("budget_id",),
)  # fmt: skip
# A budget alert is the budget owner's (see BUDGET_ALERTS, written earlier in the
# same transaction); every other alert is visible through its account.
ALERT_OUTBOX = Target(
    "alert_outbox",
    ("event_id", "source", "alert_id", "action", "account_id", "service", "severity",
     "severity_rank", "impact_usd", "title", "occurred_at", "payload"),
    "ON CONFLICT (event_id) DO NOTHING",
    derived=(("tenant_id", "CASE WHEN {source} = 'budget' THEN "
              "(SELECT tenant_id FROM budget_alerts WHERE incident_id = {alert_id}) END"),),
)  # fmt: skip

#: Every table a batch may touch, in the order the batch writes them.
TARGETS = (ANOMALIES, ANOMALY_EVENTS, RECOMMENDATIONS, FORECASTS, COSTS, RESTATEMENTS,
           COMMITMENT_REPORTS, COMMITMENT_ALERTS, IMPLEMENTATIONS, DEAD_LETTERS,
           BUDGET_ALERTS)  # fmt: skip
UPSERT_ANOMALY = ANOMALIES.row_sql
INSERT_ANOMALY_EVENT = ANOMALY_EVENTS.row_sql
UPSERT_RECOMMENDATION = RECOMMENDATIONS.row_sql
UPSERT_FORECAST = FORECASTS.row_sql
UPSERT_COST = COSTS.row_sql
INSERT_RESTATEMENT = RESTATEMENTS.row_sql
INSERT_DEAD_LETTER = DEAD_LETTERS.row_sql
UPSERT_COMMITMENT_REPORT = COMMITMENT_REPORTS.row_sql
INSERT_COMMITMENT_ALERT = COMMITMENT_ALERTS.row_sql
UPSERT_IMPLEMENTATION = IMPLEMENTATIONS.row_sql
UPSERT_BUDGET_ALERT = BUDGET_ALERTS.row_sql
INSERT_ALERT = ALERT_OUTBOX.row_sql
_BY_STATEMENT = {target.row_sql: target for target in TARGETS}


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
        elif isinstance(event, CommitmentReport):
            best = max((r.estimated_monthly_savings for r in event.recommendations), default=0.0)
            rows.add(
                UPSERT_COMMITMENT_REPORT,
                (event.account_id, event.id, event.coverage, event.utilisation,
                 event.eligible_on_demand, max(best, 0.0), event.window_end, event.generated_at,
                 event.model_dump(mode="json")),
            )  # fmt: skip
        elif isinstance(event, CommitmentAlert):
            payload = event.model_dump(mode="json")
            rows.add(
                INSERT_COMMITMENT_ALERT,
                (event.id, event.account_id, event.arn, event.kind, event.reason,
                 event.utilisation, event.end, event.detected_at, payload),
            )  # fmt: skip
            rows.alerts.append(from_commitment_alert(event, payload))
        elif isinstance(event, Implementation):
            rows.add(
                UPSERT_IMPLEMENTATION,
                (event.resource_id, event.id, event.account_id, event.region,
                 event.recommendation_id, event.kind, event.implemented_at,
                 event.estimated_monthly_savings, event.realised_monthly_savings,
                 event.measured_through, event.generated_at, event.model_dump(mode="json")),
            )  # fmt: skip
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
    UPSERT_COMMITMENT_REPORT: lambda rows: _latest(rows, lambda r: r[0], lambda r: (r[7], r[1])),
    INSERT_COMMITMENT_ALERT: lambda rows: _latest(rows, lambda r: r[0], lambda r: r[7]),
    UPSERT_IMPLEMENTATION: lambda rows: _latest(
        rows, lambda r: r[0], lambda r: (r[9] is not None, r[9] or r[10], r[10], r[1])
    ),
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


async def _stage(conn: asyncpg.Connection, target: Target, rows: list[tuple[Any, ...]]) -> str:
    """COPY ``rows`` into the target's staging table; returns the statement that applies them."""
    records = [(*row, n) for n, row in enumerate(rows)]
    await conn.copy_records_to_table(target.stage, records=records, schema_name="pg_temp")
    return target.set_sql


async def store(conn: asyncpg.Connection, events: Sequence[tuple[Event, str]]) -> int:
    """Write one batch atomically; returns the number of alert rows offered to the outbox.

    Set-based: per table, the batch's rows are COPYed into a session staging table
    and applied by one ``INSERT … SELECT … ON CONFLICT`` with the same forward-only
    rule the per-row statements carry, so the cost per batch is a handful of round
    trips whatever its size, not one statement execution per row.
    """
    rows = collapse(to_rows(events))
    targets = [(_BY_STATEMENT[sql], params) for sql, params in rows.by_statement.items()]
    targets.sort(key=lambda pair: TARGETS.index(pair[0]))
    alerts = [alert_row(a) for a in rows.alerts]
    staged = [target for target, _ in targets] + ([ALERT_OUTBOX] if alerts else [])
    async with conn.transaction():
        # IF NOT EXISTS reports a notice each time the session already has the table.
        await conn.execute(
            "SET LOCAL client_min_messages = warning;\n"
            + ";\n".join(target.create_stage_sql for target in staged)
        )
        applies = [await _stage(conn, target, params) for target, params in targets]
        if applies:
            await conn.execute(";\n".join(applies))
        if UPSERT_RECOMMENDATION in rows.by_statement:
            # People's accept/dismiss decisions hold unless the content changed materially.
            await lapse_changed(conn, [r[0] for r in rows.by_statement[UPSERT_RECOMMENDATION]])
        if alerts:
            await _stage(conn, ALERT_OUTBOX, alerts)
            await conn.execute(
                f"SELECT pg_advisory_xact_lock({OUTBOX_LOCK_KEY});\n{ALERT_OUTBOX.set_sql}"
            )
    return len(rows.alerts)
