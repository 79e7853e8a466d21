"""The set-based store ends where the per-row statements, run one by one, end."""

from __future__ import annotations

import asyncpg

from services.gateway.repositories import ingest
from tests.integration.gateway.helpers import TABLES, RunningGateway
from tests.unit.gateway import factories as f

# Repeated keys, newer-then-older versions (a replay), duplicate notices, every table.
EVENTS = [
    f.anomaly("i", "open", 0, minute=0),
    f.anomaly("i", "resolve", 1, minute=9),
    f.anomaly("i", "update", 1, minute=5),
    f.anomaly("i", "open", 0, minute=0),
    f.anomaly("j", "open", 0, severity="critical", minute=3),
    f.recommendation("r", savings=2.0, minute=3),
    f.recommendation("r", savings=1.0, minute=0),
    f.recommendation("s", regression=True),
    f.forecast("daily/111111111111/AmazonEC2"),
    f.cost(day=0, value=1.0),
    f.cost(day=0, value=3.0),
    f.cost(day=1, value=2.0),
    f.restatement(),
    f.restatement(),
    f.dead_letter(1),
    f.budget_alert("b"),
    f.commitment_report(savings=120.0, minute=5),
    f.commitment_report(savings=90.0, minute=0),
    f.commitment_alert(minute=2),
    f.commitment_alert(minute=2),
    f.implementation("i-1", realised=None, minute=0),
    f.implementation("i-1", realised=60.0, minute=4),
    f.implementation("i-1", realised=None, minute=1),
]
PAIRS = [(event, "spendstream.anomalies.v1.dlq") for event in EVENTS]


async def contents(conn: asyncpg.Connection) -> dict[str, list[tuple[object, ...]]]:
    """What the store wrote, less columns a second write cannot repeat (outbox ``seq``)."""
    out = {}
    for target in (*ingest.TARGETS, ingest.ALERT_OUTBOX):
        order = "seq" if target.table == "alert_outbox" else TABLES[target.table]
        rows = await conn.fetch(f"SELECT {target.columns} FROM {target.table} ORDER BY {order}")
        out[target.table] = [tuple(r) for r in rows]
    return out


async def test_set_based_store_equals_the_per_row_statements(gateway: RunningGateway) -> None:
    async with gateway.state.pool.acquire() as conn:
        rows = ingest.to_rows(PAIRS)  # not collapsed: every row, in arrival order
        async with conn.transaction():
            for statement, params in rows.by_statement.items():
                for row in params:
                    await conn.execute(statement, *row)
            for alert in rows.alerts:
                await conn.execute(ingest.INSERT_ALERT, *ingest.alert_row(alert))
        per_row = await contents(conn)
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")

        assert await ingest.store(conn, PAIRS) == len(rows.alerts)
        assert await contents(conn) == per_row
        assert all(per_row.values())  # every table took part
        # The same batch again, on the same session (staging tables reused, emptied).
        await ingest.store(conn, PAIRS)
        assert await contents(conn) == per_row
