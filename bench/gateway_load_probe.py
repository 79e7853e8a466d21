"""The legitimate side of ``bench_gateway_load``: one client timed, one subscriber counting alerts.

In one process, for the whole run (idle phase, then the load phase):

- **latency**: GET ``/v1/anomalies?limit=50`` with the legitimate tenant's key at
  a fixed rate, open loop (request *i* is due at ``t0 + i / rate`` and its latency
  counts from then, so a stalled server cannot hide its queue);
- **alerts**: an anomaly event produced onto the anomalies topic every
  ``ALERT_EVERY_S``, and an SSE subscriber on ``/v1/alerts/stream`` noting when
  each arrives. After the run it waits (bounded) for every produced alert.

Run by the bench as ``python -m bench.gateway_load_probe CONFIG_JSON``; prints one
JSON document with every latency and every alert's produce and arrival time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import httpx
import orjson

from shared import topics
from shared.kafka import EventProducer, make_producer
from shared.settings import SpendstreamSettings
from tests.harness.wait import wait_for_async
from tests.unit.gateway import factories as f

# Two alerts a second: enough to count losses in a 60 s window, far from a load.
ALERT_EVERY_S = 0.5
# After the run, every produced alert must reach the subscriber within this long.
DRAIN_TIMEOUT_S = 60.0
LATENCY_PATH = "/v1/anomalies?limit=50"


async def latency(base: str, key: str, rate: float, start: float, end: float) -> list[Any]:
    """[(scheduled wall time, latency s or None on error, status)] of each timed request."""
    results: list[Any] = []
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one(due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.time()))
            try:
                response = await client.get(
                    LATENCY_PATH, headers={"Authorization": f"Bearer {key}"}
                )
            except httpx.HTTPError as exc:
                results.append((due, None, type(exc).__name__))
                return
            results.append((due, time.time() - due, response.status_code))

        n = int((end - start) * rate)
        await asyncio.gather(*(one(start + i / rate) for i in range(n)))
    return results


async def produce(settings: SpendstreamSettings, account: str, start: float, end: float,
                  sent: dict[str, float]) -> None:  # fmt: skip
    """One new anomaly incident every ALERT_EVERY_S; ``sent`` maps event id -> produce time."""
    producer = make_producer(settings)
    await producer.start()
    try:
        sender = EventProducer(producer, settings)
        i = 0
        while (due := start + i * ALERT_EVERY_S) < end:
            await asyncio.sleep(max(0.0, due - time.time()))
            event = f.anomaly(f"load-{i:05d}", account=account, minute=i)
            sent[event.id] = time.time()
            await (await sender.send(topics.ANOMALIES, event, event.series_id))
            i += 1
    finally:
        await producer.stop()


async def subscribe(base: str, key: str, seen: dict[str, float], stop: asyncio.Event) -> None:
    """Follow the SSE stream, resuming after drops, noting each alert's arrival time."""
    last = "0"
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30, read=None)) as client:
        while not stop.is_set():
            headers = {"Authorization": f"Bearer {key}", "Last-Event-ID": last}
            with contextlib.suppress(httpx.HTTPError):
                async with client.stream("GET", "/v1/alerts/stream", headers=headers) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("id:"):
                            last = line[3:].strip()
                        elif line.startswith("data:"):
                            doc = orjson.loads(line[5:])
                            seen.setdefault(doc["event_id"], time.time())
                        if stop.is_set():
                            return
            await asyncio.sleep(0.2)


async def run(cfg: dict[str, Any]) -> dict[str, Any]:
    """Latency probe, producer and subscriber over [start, end]; then drain the alerts."""
    settings = SpendstreamSettings(
        _env_file=None,
        kafka_bootstrap_servers=cfg["bootstrap"],
        topic_prefix=cfg["prefix"],
        kafka_enable_idempotence=False,
        service_name="bench-load-probe",
    )
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(subscribe(cfg["base"], cfg["key"], seen, stop))
    lat, _ = await asyncio.gather(
        latency(cfg["base"], cfg["key"], cfg["rate"], cfg["start"], cfg["end"]),
        produce(settings, cfg["account"], cfg["start"], cfg["end"], sent),
    )
    # A timeout is a finding (alerts lost), reported by the figures, not a crash.
    with contextlib.suppress(AssertionError):
        await wait_for_async(
            lambda: set(sent) <= set(seen), timeout=DRAIN_TIMEOUT_S, description="every alert seen"
        )
    stop.set()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    return {"latency": lat, "sent": sent, "seen": seen}


def main(argv: list[str]) -> None:
    """Entry point: one JSON argument (base, key, rate, start, end, bootstrap, prefix, account)."""
    print(json.dumps(asyncio.run(run(json.loads(argv[0])))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
