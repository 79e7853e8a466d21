"""Gateway benchmark: list latency at a fixed request rate, and batched vs per-row ingest.

In one run:

1. **fill** - 1,000,000 anomalies and 1,000,000 recommendations COPYed into a
   fresh schema (100 accounts; the benchmark tenant owns 10 of them), then ANALYZE.
2. **latency** - the gateway (``python -m services.gateway``, uvicorn, no
   consumer) in a subprocess; a second process drives each list endpoint at a
   fixed rate (open loop: request *i* is due at ``t0 + i / rate`` and its latency
   counts from that moment, so a slow server cannot hide queueing) and reports
   p50/p99/max.
3. **ingest** - the consumer's write path (``repositories.ingest.store``: one
   transaction per 500-event batch, COPY into staging + one upsert per table)
   against a baseline doing the same statements one row at a time, each in its
   own transaction (a naive consumer); fresh schemas, same events mix (anomaly
   lifecycle events and recommendations), Kafka excluded from both. Run twice:
   with the server's default durability and with ``synchronous_commit=off``
   set on both sides' sessions, where a commit costs almost nothing, so the
   second ratio shows what batching gains beyond saved commits. Prints
   events/s, the ratios and ``uptime``.

PostgreSQL is ``SPENDSTREAM_POSTGRES_DSN`` if set, else a private embedded
server; the broker (needed by the gateway's lifespan) is
``SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS`` if set, else a private embedded Tansu.
Both private servers are stopped at the end.

Run: ``make bench-gateway`` (``--rows``, ``--rate``, ``--seconds`` to change).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

from devstack.ports import free_port
from devstack.stack import owned_stack
from services.gateway.db.migrate import apply_migrations
from services.gateway.db.pool import _init_connection as init_connection
from services.gateway.repositories import ingest, tenants
from shared.events import stable_id
from tests.unit.gateway import factories as f

ACCOUNTS = [f"{100000000000 + i}" for i in range(100)]
TENANT_ACCOUNTS = ACCOUNTS[:10]
SEVERITIES = ["low", "medium", "high", "critical"]
COPY_CHUNK = 50_000
INGEST_BATCH = 500  # the consumer's max_poll_records
READY_TIMEOUT_S = 60.0
ENDPOINTS = [
    "/v1/anomalies?limit=50",
    "/v1/anomalies?severity=high&status=open&limit=50",
    "/v1/recommendations?limit=50",
    f"/v1/recommendations?account={TENANT_ACCOUNTS[3]}&min_savings=10&limit=50",
    # The tenant's decisions joined in: most rows open, none dismissed (the filled table has none).
    "/v1/recommendations?state=open&limit=50",
    "/v1/recommendations?state=dismissed&limit=50",
]


# ---------------------------------------------------------------- backends
@contextlib.contextmanager
def backends() -> Iterator[tuple[str, str]]:
    """(postgres dsn, kafka bootstrap): from the environment or private embedded servers."""
    dsn = os.environ.get("SPENDSTREAM_POSTGRES_DSN")
    bootstrap = os.environ.get("SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS")
    if dsn and bootstrap:
        yield dsn, bootstrap
        return
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # PostgreSQL's unprivileged user keeps its data inside when we are root
        # All or nothing, stopped on any exit (Ctrl-C and SIGTERM included).
        with owned_stack(root / "stack") as up:
            yield dsn or up.postgres_dsn, bootstrap or up.kafka_bootstrap_servers


def fresh_schema(dsn: str, name: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    apply_migrations(dsn, name)
    return name


# ---------------------------------------------------------------- fill
def _anomaly_rows(n: int, start: int) -> Iterator[tuple[Any, ...]]:
    template = f.anomaly("tmpl").model_dump(mode="json")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(start, start + n):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        severity = SEVERITIES[i % 4]
        at = t0 + timedelta(seconds=i * 30)
        incident = f"inc-{i:08d}"
        status = "resolved" if i % 3 == 0 else "open"
        payload = {
            **template,
            "id": stable_id(incident, "open"),
            "incident_id": incident,
            "account_id": account,
            "severity": severity,
            "impact_usd": float(i % 1000),
            "detected_at": at.isoformat(),
            "action": "resolve" if status == "resolved" else "open",
        }
        yield (
            incident, payload["id"], 0, status, payload["action"], 0, "cost",
            template["series_id"], account, "AmazonEC2", severity, i % 4, float(i % 1000),
            at - timedelta(days=1), at, at, at, payload,
        )  # fmt: skip


def _recommendation_rows(n: int, start: int) -> Iterator[tuple[Any, ...]]:
    template = f.recommendation("tmpl").model_dump(mode="json")
    at = datetime(2025, 3, 1, tzinfo=UTC)
    for i in range(start, start + n):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        resource = f"i-{i:017x}"
        savings = float((i * 7919) % 5000) / 10
        payload = {
            **template,
            "id": stable_id("rec", resource),
            "resource_id": resource,
            "account_id": account,
            "estimated_monthly_savings": savings,
        }
        yield (
            resource, payload["id"], account, "us-east-1", "overprovisioned", "m5.xlarge",
            savings, False, at, payload,
        )  # fmt: skip


ANOMALY_COLUMNS = [
    "incident_id", "last_event_id", "version", "status", "action", "revision", "kind",
    "series_id", "account_id", "service", "severity", "severity_rank", "impact_usd",
    "window_start", "window_end", "detected_at", "opened_at", "payload",
]  # fmt: skip
RECOMMENDATION_COLUMNS = [
    "resource_id", "event_id", "account_id", "region", "finding", "current_type",
    "monthly_savings", "regression", "generated_at", "payload",
]  # fmt: skip


async def fill(dsn: str, schema: str, rows: int) -> tuple[str, float]:
    """COPY ``rows`` anomalies and recommendations; return an admin key and the seconds taken."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    await init_connection(conn)  # binary jsonb codec, which COPY needs
    started = time.perf_counter()
    try:
        await tenants.create_tenant(conn, "bench", TENANT_ACCOUNTS)
        key = (await tenants.create_key(conn, "bench", "admin")).token
        for table, columns, gen in (
            ("anomalies", ANOMALY_COLUMNS, _anomaly_rows),
            ("recommendations", RECOMMENDATION_COLUMNS, _recommendation_rows),
        ):
            for start in range(0, rows, COPY_CHUNK):
                chunk = list(gen(min(COPY_CHUNK, rows - start), start))
                await conn.copy_records_to_table(table, records=chunk, columns=columns)
            print(f"  {table}: {rows:,} rows copied ({time.perf_counter() - started:.0f} s)")
        await conn.execute("ANALYZE anomalies; ANALYZE recommendations")
    finally:
        await conn.close()
    return key, time.perf_counter() - started


async def reuse(dsn: str, schema: str, rows: int) -> str | None:
    """A new key if ``schema`` already holds ``rows`` of each table, else None."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM anomalies) AS a, "
            "(SELECT count(*) FROM recommendations) AS r"
        )
        if counts is None or (counts["a"], counts["r"]) != (rows, rows):
            return None
        return (await tenants.create_key(conn, "bench", "admin")).token
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


# ---------------------------------------------------------------- latency
async def drive(
    base: str, key: str, path: str, rate: float, seconds: float
) -> tuple[list[float], list[str]]:
    """Open-loop load: latencies (s) measured from each request's scheduled time."""
    n = int(rate * seconds)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one(due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                response = await client.get(path, headers=headers)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                return
            if response.status_code != 200:
                errors.append(str(response.status_code))
            latencies.append(time.perf_counter() - due)

        t0 = time.perf_counter() + 0.2
        await asyncio.gather(*(one(t0 + i / rate) for i in range(n)))
    return latencies, errors


def load_main(argv: list[str]) -> None:
    """Entry point of the load-generator process: prints one JSON line per endpoint."""
    base, key, rate, seconds, *paths = argv
    for path in paths:
        lat, errors = asyncio.run(drive(base, key, path, float(rate), float(seconds)))
        print(json.dumps({"path": path, "latencies": lat, "errors": errors}), flush=True)


def serve(
    dsn: str,
    bootstrap: str,
    schema: str,
    port: int,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """The gateway in a subprocess, ready; ``extra_env`` overrides this bench's settings."""
    env = {
        **os.environ,
        "SPENDSTREAM_POSTGRES_DSN": dsn,
        "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "SPENDSTREAM_GATEWAY_PG_SCHEMA": schema,
        "SPENDSTREAM_GATEWAY_HTTP_PORT": str(port),
        "SPENDSTREAM_GATEWAY_RUN_CONSUMER": "false",
        "SPENDSTREAM_GATEWAY_RUN_DELIVERY": "false",
        "SPENDSTREAM_GATEWAY_SECRETS_KEY": Fernet.generate_key().decode(),
        "SPENDSTREAM_GATEWAY_RATE_LIMIT_PER_S": "1000000",
        "SPENDSTREAM_GATEWAY_RATE_LIMIT_BURST": "1000000",
        "SPENDSTREAM_GATEWAY_TENANT_RATE_LIMIT_PER_S": "1000000",
        "SPENDSTREAM_GATEWAY_TENANT_RATE_LIMIT_BURST": "1000000",
        "SPENDSTREAM_LOG_LEVEL": "WARNING",
        "SPENDSTREAM_TOPIC_PREFIX": "bench.",
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.gateway"], env=env, stdout=log, stderr=log
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"gateway exited during start-up (code {proc.returncode}):\n{tail}")
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gateway not ready in time")


# ---------------------------------------------------------------- ingest
def ingest_events(n: int) -> list[tuple[Any, str]]:
    """A consumer-like mix: 3 lifecycle events per incident plus one recommendation."""
    events: list[tuple[Any, str]] = []
    i = 0
    while len(events) < n:
        inc = f"bench-{i}"
        account = ACCOUNTS[i % len(ACCOUNTS)]
        events += [
            (f.anomaly(inc, "open", 0, account=account, minute=i), "t"),
            (f.anomaly(inc, "update", 1, account=account, minute=i + 1), "t"),
            (f.anomaly(inc, "resolve", 1, account=account, minute=i + 2), "t"),
            (f.recommendation(f"r-{i}", account=account, savings=float(i % 97)), "t"),
        ]
        i += 1
    return events[:n]


def backend_cpu_s(pid: int) -> float | None:
    """CPU seconds a local PostgreSQL backend has used; None if it is not visible here."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def ingest_rate(
    dsn: str, schema: str, events: list[tuple[Any, str]], batched: bool, synchronous_commit: str
) -> tuple[float, float | None]:
    """Events per wall second, and per CPU second of this process + its backend if local.

    On a shared machine the wall rate measures the queue for a core; the CPU rate
    (WAL writer and checkpointer excluded) is what one core would sustain.
    """
    settings = {"search_path": schema}
    if synchronous_commit != "default":
        settings["synchronous_commit"] = synchronous_commit
    conn = await asyncpg.connect(dsn, server_settings=settings)
    await init_connection(conn)
    pid = conn.get_server_pid()
    try:
        started, cpu0, backend0 = time.perf_counter(), time.process_time(), backend_cpu_s(pid)
        if batched:
            for i in range(0, len(events), INGEST_BATCH):
                await ingest.store(conn, events[i : i + INGEST_BATCH])
        else:
            for event in events:
                rows = ingest.to_rows([event])
                for statement, params in rows.by_statement.items():
                    await conn.execute(statement, *params[0])
                for alert in rows.alerts:
                    await conn.execute(ingest.INSERT_ALERT, *ingest.alert_row(alert))
        wall = time.perf_counter() - started
        backend1 = backend_cpu_s(pid)
        if backend0 is None or backend1 is None:
            return len(events) / wall, None
        return len(events) / wall, len(events) / (time.process_time() - cpu0 + backend1 - backend0)
    finally:
        await conn.close()


# ---------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="anomalies and recommendations")
    # 20/s: well inside what one uvicorn worker sustains for 50-row pages on a shared
    # 2-core machine; above capacity an open-loop test measures only the queue.
    parser.add_argument("--rate", type=float, default=20.0, help="requests/s per endpoint")
    parser.add_argument("--seconds", type=float, default=15.0, help="per endpoint")
    parser.add_argument("--ingest-events", type=int, default=40_000)
    parser.add_argument("--baseline-events", type=int, default=8_000)
    parser.add_argument("--ingest-only", action="store_true", help="skip fill and latency")
    parser.add_argument(
        "--reuse", action="store_true", help="keep an earlier fill (external PostgreSQL only)"
    )
    args = parser.parse_args()
    with backends() as (dsn, bootstrap):
        if not args.ingest_only:
            latency(args, dsn, bootstrap)
        ingest_comparison(args, dsn)


def latency(args: argparse.Namespace, dsn: str, bootstrap: str) -> None:
    """Fill (or reuse) the tables, serve them, drive the list endpoints from a second process."""
    print(f"== fill: {args.rows:,} anomalies + {args.rows:,} recommendations (COPY)")
    key = asyncio.run(reuse(dsn, "bench_gateway", args.rows)) if args.reuse else None
    schema = "bench_gateway"
    if key is None:
        fresh_schema(dsn, schema)
        key, took = asyncio.run(fill(dsn, schema, args.rows))
        print(f"  filled in {took:.0f} s")
    else:
        print("  reused the rows of an earlier run (--reuse)")

    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"bench-gateway-{port}.log"
    server = serve(dsn, bootstrap, schema, port, log_path)
    try:
        print(f"== latency: {args.rate:g} req/s for {args.seconds:g} s per endpoint "
              "(load from a second process, loopback)")  # fmt: skip
        load = subprocess.run(
            [sys.executable, "-m", "bench.bench_gateway", "--load",
             f"http://127.0.0.1:{port}", key, str(args.rate), str(args.seconds), *ENDPOINTS],
            check=False, capture_output=True, text=True,
        )  # fmt: skip
        if load.returncode != 0:
            raise RuntimeError(f"load generator failed:\n{load.stderr[-3000:]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    log_path.unlink(missing_ok=True)
    for line in load.stdout.splitlines():
        doc = json.loads(line)
        ms = np.array(doc["latencies"]) * 1000
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"  {doc['path']:<72} n={len(ms):5d} p50={p50:7.1f} ms "
              f"p99={p99:7.1f} ms max={ms.max():7.1f} ms "
              f"errors={len(doc['errors'])}")  # fmt: skip


def ingest_comparison(args: argparse.Namespace, dsn: str) -> None:
    """Batched store vs one statement per row, same events mix, fresh schemas, two durabilities."""
    print("== ingest: batched (500-event transactions) vs one INSERT per row")
    print(f"  uptime: {uptime()}")
    for durability in ("default", "off"):
        print(f"  synchronous_commit={durability}:")
        rates = {}
        for name, batched, n in (("batched", True, args.ingest_events),
                                 ("baseline", False, args.baseline_events)):  # fmt: skip
            schema = fresh_schema(dsn, f"bench_ingest_{name}")
            rates[name], per_cpu = asyncio.run(
                ingest_rate(dsn, schema, ingest_events(n), batched, durability)
            )
            cpu = "" if per_cpu is None else f", {per_cpu:,.0f} per CPU-second (client+backend)"
            print(f"    {name + ':':<9} {rates[name]:10,.0f} events/s ({n:,} events{cpu})")
        print(f"    ratio:    {rates['batched'] / rates['baseline']:10.1f}x "
              "(target >= 10x, batched >= 50k events/s)")  # fmt: skip
    print(f"  uptime: {uptime()}")


def uptime() -> str:
    """The machine's load, printed beside the figures (a shared machine skews them)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main(sys.argv[2:])
    else:
        main()
