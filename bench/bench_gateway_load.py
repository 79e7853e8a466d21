"""Gateway under a hostile crowd: a legitimate client's latency and alerts, against its idle self.

One run, on loopback, against the real gateway (``python -m services.gateway``
in a subprocess, production limits, its consumer on) over the embedded stack:

1. **idle** (``--idle`` s): the probe process (``gateway_load_probe``) times a
   legitimate tenant's GET at a fixed rate while anomaly events flow through
   Kafka to its SSE subscriber;
2. **load** (``--seconds`` s): the same, while a third process
   (``gateway_load_attack``) runs 200 concurrent clients - a noisy tenant's
   valid requests, unknown and garbage keys from 60 addresses, query-parameter
   floods and invented methods - each at ``--client-rate`` requests/s.

Printed as ratios against the idle phase of the same run: the legitimate
client's p99 (target < 3x), its errors, and alerts produced in each phase that
reached the subscriber (target: all) with their produce-to-arrival p99. Also
what the crowd got back, per kind and status, and the machine's load average.

PostgreSQL and the broker are ``SPENDSTREAM_POSTGRES_DSN`` and
``SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS`` if set, else a private embedded stack.

Run: ``make bench-gateway-load`` (``--seconds``, ``--idle``, ``--client-rate``, ``--rate``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from bench.bench_gateway import backends, fresh_schema, serve
from devstack.ports import free_port
from services.gateway.db.pool import _init_connection as init_connection
from services.gateway.repositories import ingest, tenants
from tests.unit.gateway import factories as f

SCHEMA = "bench_gateway_load"
LEGIT_ACCOUNT = "100000000001"
NOISY_ACCOUNT = "100000000002"
# The noisy tenant spreads its valid clients over this many keys (each meets its own limit).
NOISY_KEYS = 4
# The crowd, clients per kind: mostly hostile, plus a noisy tenant's real traffic.
DEFAULT_MIX = "valid=40,badkey=80,params=40,methods=40"
# Processes start and connect before the first phase begins.
START_SLACK_S = 5.0


async def seed(dsn: str) -> tuple[str, list[str]]:
    """Two tenants with a page of anomalies each: the legitimate key and the noisy keys."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    await init_connection(conn)  # the gateway's own codecs (jsonb)
    try:
        await tenants.create_tenant(conn, "legit", [LEGIT_ACCOUNT])
        await tenants.create_tenant(conn, "noisy", [NOISY_ACCOUNT])
        legit = (await tenants.create_key(conn, "legit", "read")).token
        noisy = [(await tenants.create_key(conn, "noisy", "read")).token for _ in range(NOISY_KEYS)]
        events = [
            f.anomaly(f"seed-{a}-{i}", account=a, minute=i)
            for a in (LEGIT_ACCOUNT, NOISY_ACCOUNT)
            for i in range(60)
        ]
        await ingest.store(conn, [(e, "n/a") for e in events])
    finally:
        await conn.close()
    return legit, noisy


def gateway_env(prefix: str) -> dict[str, str]:
    """Production limits (rate, failed-auth, concurrency), with its consumer on."""
    return {
        "SPENDSTREAM_GATEWAY_RUN_CONSUMER": "true",
        "SPENDSTREAM_GATEWAY_CONSUMER_GROUP": f"{prefix}gateway",
        "SPENDSTREAM_GATEWAY_RATE_LIMIT_PER_S": "50",
        "SPENDSTREAM_GATEWAY_RATE_LIMIT_BURST": "100",
        "SPENDSTREAM_GATEWAY_TENANT_RATE_LIMIT_PER_S": "100",
        "SPENDSTREAM_GATEWAY_TENANT_RATE_LIMIT_BURST": "200",
        "SPENDSTREAM_TOPIC_PREFIX": prefix,
    }


def p99_ms(values: list[float]) -> float:
    return float(np.percentile(np.array(values) * 1000, 99)) if values else float("nan")


def summarise(probe: dict[str, Any], load_start: float, load_end: float) -> dict[str, Any]:
    """Per phase: latencies, errors, alerts sent/seen and their delivery latency."""
    phases: dict[str, dict[str, Any]] = {}
    for name, inside in (
        ("idle", lambda t: t < load_start),
        ("load", lambda t: load_start <= t < load_end),
    ):
        lat = [x for due, x, status in probe["latency"] if inside(due) and status == 200]
        errors = [status for due, x, status in probe["latency"] if inside(due) and status != 200]
        sent = {i: t for i, t in probe["sent"].items() if inside(t)}
        seen = {i: probe["seen"][i] - t for i, t in sent.items() if i in probe["seen"]}
        ms = np.array(lat) * 1000 if lat else np.zeros(1)
        phases[name] = {
            "n": len(lat), "p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
            "max": float(ms.max()), "p99": p99_ms(lat), "errors": errors,
            "sent": len(sent), "seen": len(seen), "alert_p99": p99_ms(list(seen.values())),
        }  # fmt: skip
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load phase")
    parser.add_argument("--idle", type=float, default=30.0, help="idle phase before it")
    # 2 req/s per client: 400 req/s from the crowd, a busy API's worth for one replica.
    parser.add_argument("--client-rate", type=float, default=2.0, help="requests/s per client")
    parser.add_argument("--rate", type=float, default=10.0, help="legitimate requests/s")
    parser.add_argument("--mix", default=DEFAULT_MIX, help="clients per kind (200 in all)")
    args = parser.parse_args()
    prefix = f"benchload{os.getpid()}."
    with backends() as (dsn, bootstrap):
        fresh_schema(dsn, SCHEMA)
        legit, noisy = asyncio.run(seed(dsn))
        port = free_port()
        log_path = Path(tempfile.gettempdir()) / f"bench-gateway-load-{port}.log"
        server = serve(dsn, bootstrap, SCHEMA, port, log_path, gateway_env(prefix))
        try:
            run(args, f"http://127.0.0.1:{port}", port, bootstrap, prefix, legit, noisy)
        finally:
            server.terminate()
            server.wait(timeout=30)
        log_path.unlink(missing_ok=True)


def run(args: argparse.Namespace, base: str, port: int, bootstrap: str, prefix: str,
        legit: str, noisy: list[str]) -> None:  # fmt: skip
    """Both phases, then the figures."""
    start = time.time() + START_SLACK_S
    load_start, load_end = start + args.idle, start + args.idle + args.seconds
    cfg = {"base": base, "key": legit, "rate": args.rate, "start": start, "end": load_end,
           "bootstrap": bootstrap, "prefix": prefix, "account": LEGIT_ACCOUNT}  # fmt: skip
    py = sys.executable
    print(f"== idle {args.idle:g} s, then clients [{args.mix}] x {args.client_rate:g} req/s for "
          f"{args.seconds:g} s; legitimate client {args.rate:g} req/s (loopback)")  # fmt: skip
    probe = subprocess.Popen([py, "-m", "bench.gateway_load_probe", json.dumps(cfg)],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    crowd = subprocess.Popen(
        [py, "-m", "bench.gateway_load_attack", "127.0.0.1", str(port), str(load_start),
         str(load_end), str(args.client_rate), ",".join(noisy), args.mix],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(max(0.0, load_start + args.seconds / 2 - time.time()))
    with open("/proc/loadavg") as fh:
        loadavg = fh.read().split()[:3]
    crowd_out, _ = crowd.communicate(timeout=args.seconds + 120)
    probe_out, _ = probe.communicate(timeout=args.idle + args.seconds + 180)
    if crowd.returncode or probe.returncode:
        raise RuntimeError(
            f"load processes failed: crowd={crowd.returncode} probe={probe.returncode}"
        )
    report(summarise(json.loads(probe_out), load_start, load_end), json.loads(crowd_out), loadavg,
           args.seconds)  # fmt: skip


def report(
    phases: dict[str, Any], crowd: dict[str, Any], loadavg: list[str], seconds: float
) -> None:
    """Print the figures, ratios against the idle phase first."""
    idle, load = phases["idle"], phases["load"]
    print(
        f"  legit p99:  idle {idle['p99']:7.1f} ms  load {load['p99']:7.1f} ms  "
        f"ratio {load['p99'] / idle['p99']:5.2f}x (target < 3x)"
    )
    for q in ("p50", "p90", "max"):
        print(
            f"  legit {q}:{' ' * (5 - len(q))}idle {idle[q]:7.1f} ms  load {load[q]:7.1f} ms  "
            f"ratio {load[q] / idle[q]:5.2f}x"
        )
    print(
        f"  legit n:    idle {idle['n']:5d} ok  load {load['n']:5d} ok  "
        f"errors idle {len(idle['errors'])} load {len(load['errors'])} "
        f"{sorted(set(map(str, load['errors'])))}"
    )
    for name in ("idle", "load"):
        p = phases[name]
        print(
            f"  alerts {name}: {p['seen']}/{p['sent']} reached the SSE subscriber "
            f"(lost {p['sent'] - p['seen']}), produce->arrival p99 {p['alert_p99']:.0f} ms"
        )
    print(f"  alert p99 ratio: {load['alert_p99'] / idle['alert_p99']:5.2f}x")
    total = sum(sum(c.values()) for c in crowd.values())
    print(f"  crowd: {total:,} answers in {seconds:g} s = {total / seconds:,.0f} req/s")
    for kind, counts in crowd.items():
        print(f"    {kind:8} " + "  ".join(f"{k}: {v:,}" for k, v in sorted(counts.items())))
    print(f"  load average at mid-load: {' '.join(loadavg)} (cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
