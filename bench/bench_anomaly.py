"""Anomaly benchmark: metric datapoints through Kafka vs a raw River loop, and latency.

In one run:

1. **raw loop** - the metric detector's ``score_one`` then ``learn_one`` for
   every point, one detector per resource, in a plain Python loop (no Kafka,
   no decoding, no state snapshots): the ceiling the service is compared with.
   Beside it, the same loop through the detector's fused ``update`` (which the
   service uses), printed as a stricter second reference.
2. **throughput** - the same points pre-produced to the datapoints topic, one
   worker (``python -m services.anomaly``, metric loop only) consuming them;
   datapoints/s measured between the worker's first and last observed offset
   commits (each commit follows a state snapshot, so counted work is durable).
3. **changelog bytes per datapoint** - the same throughput run again with
   every changed state written in full (``SPENDSTREAM_ANOMALY_STATE_DELTAS=false``,
   as before deltas), and a steady feed over states already 30 days deep, with
   deltas and without (``bench/anomaly_state_bytes.py``): bytes written to the
   changelog per datapoint, and the ratio, in the same run.
4. **latency** - points produced at a steady rate (default 5k/s), 1% of them
   spikes, to a fresh worker whose detectors are past warm-up; p50/p99/max
   from the moment a spike is produced to the moment its anomaly event is
   consumed by this process (a spike never flagged counts as infinitely late).

The detector is ``services.anomaly.metric.MetricDetector`` when that
package exists, else River's ``anomaly.GaussianScorer`` wrapped below (stated
in the output). The broker is ``SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS`` if set,
else a private embedded Tansu started and stopped by this script.

Run: ``make bench-anomaly`` (``--points``, ``--rate``, ``--seconds`` to change).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, TopicPartition
from river import anomaly

from bench import anomaly_state_bytes as state_bytes
from devstack.stack import owned_stack
from services.anomaly.loop import FETCH_MAX_WAIT_MS
from shared.codec import decode, encode
from shared.events import AnomalyEvent, MetricDatapoint
from shared.kafka import make_producer
from shared.settings import SpendstreamSettings
from shared.topics import ANOMALIES, CLOUDWATCH_DATAPOINTS, ensure_topics

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 5, tzinfo=UTC)
STEP = timedelta(minutes=5)
DEFAULT_SPEC = "services.anomaly.metric:MetricDetector"
FALLBACK_SPEC = "bench.bench_anomaly:RiverGaussianDetector"
# Latency run: points per stream before measuring (past any detector warm-up),
# the share of points that are spikes, and the spike floor (no normal point reaches it).
WARM_POINTS = 200
SPIKE_SHARE = 0.02
SPIKE_MIN = 90.0
# After the last spike is produced, wait this long for stragglers (then: infinitely late).
DRAIN_TIMEOUT_S = 60.0
# Offsets are polled this often: fine enough next to the worker's 0.5 s checkpoints.
POLL_S = 0.05


class RiverGaussianDetector:
    """River's GaussianScorer over a day of 5-minute points (stand-in detector)."""

    def __init__(self) -> None:
        self._model = anomaly.GaussianScorer(window_size=288, grace_period=30)

    def score_one(self, ts: datetime, value: float) -> float:
        """Score before learning."""
        return float(self._model.score_one(None, value))

    def learn_one(self, ts: datetime, value: float) -> None:
        """Learn after scoring."""
        self._model.learn_one(None, value)


def detector_spec() -> str:
    """The real metric detector when it exists, else the River stand-in."""
    if importlib.util.find_spec("services.anomaly.metric") is not None:
        module = importlib.import_module("services.anomaly.metric")
        if hasattr(module, "MetricDetector"):
            return DEFAULT_SPEC
    return FALLBACK_SPEC


def make_detector(spec: str) -> Any:
    """Build one detector from a spec (the default needs its config object)."""
    module_name, _, name = spec.partition(":")
    module = importlib.import_module(module_name)
    if spec == DEFAULT_SPEC:
        return module.MetricDetector(module.MetricDetectorConfig())
    return getattr(module, name)()


def datapoints(
    n: int, resources: int, seed: int = 0, start: datetime = T0, spikes: float = 0.002
) -> list[MetricDatapoint]:
    """``n`` CPU points round-robin over ``resources`` instances; a ``spikes`` share spikes."""
    rng = np.random.default_rng(seed)
    values = np.clip(rng.normal(40.0, 5.0, n), 0.0, SPIKE_MIN - 1.0)
    if spikes > 0:
        # Staggered, evenly spaced spikes: each stream spikes every 1/spikes of
        # its points, so a spike never lands in the previous one's aftermath.
        every = round(1 / spikes)
        index = np.arange(n)
        values[(index // resources) % every == (index % resources) % every] += SPIKE_MIN
    out = []
    for i in range(n):
        r, step = i % resources, i // resources
        out.append(
            MetricDatapoint(
                id=f"{r}-{step}",
                resource_id=f"i-{r:05d}",
                account_id="111122223333",
                region="us-east-1",
                metric="CPUUtilization",
                timestamp=start + step * STEP,
                value=float(values[i]),
            )
        )
    return out


def raw_loop(points: list[MetricDatapoint], spec: str) -> float:
    """Datapoints/s of score-then-learn alone."""
    detectors: dict[str, Any] = {}
    start = time.perf_counter()
    for p in points:
        det = detectors.get(p.resource_id)
        if det is None:
            det = detectors[p.resource_id] = make_detector(spec)
        det.score_one(p.timestamp, p.value)
        det.learn_one(p.timestamp, p.value)
    return len(points) / (time.perf_counter() - start)


def raw_fused_loop(points: list[MetricDatapoint], spec: str) -> float | None:
    """Datapoints/s of the detector's fused ``update`` (score then learn), if it has one.

    The service's tracker uses ``update`` when the detector offers it, so this is
    the stricter ceiling to read the service against; the score+learn loop above
    stays the stated baseline.
    """
    if not hasattr(make_detector(spec), "update"):
        return None
    detectors: dict[str, Any] = {}
    start = time.perf_counter()
    for p in points:
        det = detectors.get(p.resource_id)
        if det is None:
            det = detectors[p.resource_id] = make_detector(spec)
        det.update(p.timestamp, p.value)
    return len(points) / (time.perf_counter() - start)


def worker(
    settings: SpendstreamSettings,
    spec: str,
    log: Path,
    threshold: float | None,
    deltas: bool = True,
) -> subprocess.Popen[bytes]:
    env = {
        "SPENDSTREAM_ANOMALY_STATE_DELTAS": str(deltas).lower(),
        **os.environ,
        "SPENDSTREAM_STATE_DIR": str(log.parent),
        "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "SPENDSTREAM_TOPIC_PREFIX": settings.topic_prefix,
        "SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE": str(settings.kafka_enable_idempotence).lower(),
        "SPENDSTREAM_ANOMALY_RUN_COSTS": "false",
        "SPENDSTREAM_ANOMALY_METRIC_DETECTOR": "" if spec == DEFAULT_SPEC else spec,
        "SPENDSTREAM_LOG_LEVEL": "WARNING",
    }
    if threshold is not None:
        env["SPENDSTREAM_ANOMALY_METRIC_THRESHOLD"] = str(threshold)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.anomaly"], cwd=REPO, env=env, stdout=out, stderr=out
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def produce(settings: SpendstreamSettings, points: list[MetricDatapoint]) -> None:
    raw = make_producer(settings)
    await raw.start()
    try:
        topic = CLOUDWATCH_DATAPOINTS.full_name(settings.topic_prefix)
        for p in points:
            value, headers = encode(p, "bench")
            await raw.send(topic, value, key=p.resource_id.encode(), headers=headers)
        await raw.flush()
    finally:
        await raw.stop()


async def committed(probe: AIOKafkaConsumer, tps: list[TopicPartition]) -> int:
    """Offsets the worker's group has committed (the probe never joins the group)."""
    total = 0
    for tp in tps:
        total += max(0, await probe.committed(tp) or 0)
    return total


async def throughput(
    settings: SpendstreamSettings,
    points: list[MetricDatapoint],
    spec: str,
    log: Path,
    deltas: bool = True,
) -> tuple[float, int]:
    """Datapoints/s of one worker, and the changelog bytes it wrote for them."""
    await ensure_topics(settings)
    await produce(settings, points)
    proc = worker(settings, spec, log, None, deltas)
    group = f"{settings.topic_prefix}anomaly-metrics"
    probe = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(), group_id=group, enable_auto_commit=False
    )
    await probe.start()
    name = CLOUDWATCH_DATAPOINTS.full_name(settings.topic_prefix)
    tps = [TopicPartition(name, p) for p in range(CLOUDWATCH_DATAPOINTS.partitions)]
    try:
        first: tuple[float, int] | None = None
        last = (0.0, 0)
        deadline = time.monotonic() + 600
        while last[1] < len(points) and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited; see {log}")
            done = await committed(probe, tps)
            now = time.monotonic()
            if done > last[1]:
                if first is None:
                    first = (now, done)
                last = (now, done)
            await asyncio.sleep(POLL_S)
        if first is None or last[0] <= first[0]:
            raise RuntimeError("too few commits observed; raise --points")
        rate = (last[1] - first[1]) / (last[0] - first[0])
    finally:
        await probe.stop()
        stop(proc)
    return rate, await state_bytes.changelog_bytes(settings)


def steady_bytes(
    base: dict[str, Any], run: str, spec: str, tmp: Path, resources: int, rate: int, seconds: float
) -> dict[bool, tuple[int, int, float]]:
    """Per deltas on/off: (changelog bytes, points, points/s), steady feed over 30-day states."""
    names = [f"i-{r:05d}" for r in range(resources)]
    start = T0 + state_bytes.WINDOW_POINTS * STEP
    steps = max(1, int(rate * seconds) // resources)
    points = [
        MetricDatapoint(
            id=f"s{r}-{n}",
            resource_id=name,
            account_id="111122223333",
            region="us-east-1",
            metric="CPUUtilization",
            timestamp=start + n * STEP,
            value=float(40.0 + 5.0 * np.sin(n + r)),
        )
        for n in range(steps)
        for r, name in enumerate(names)
    ]
    out: dict[bool, tuple[int, int, float]] = {}
    for deltas in (True, False):
        settings = SpendstreamSettings(**base, topic_prefix=f"bench{run}s{int(deltas)}.")
        asyncio.run(ensure_topics(settings))
        asyncio.run(state_bytes.seed_states(settings, names, T0, STEP))
        log = tmp / f"s{int(deltas)}.log"
        written, fed = asyncio.run(
            state_bytes.steady(
                settings,
                points,
                rate,
                lambda s=settings, d=deltas, lg=log: worker(s, spec, lg, None, d),
                wait_committed,
            )
        )
        out[deltas] = (written, len(points), fed)
    return out


async def wait_committed(
    settings: SpendstreamSettings, total: int, proc: subprocess.Popen[bytes]
) -> None:
    """Wait until the worker's group has committed ``total`` datapoint offsets."""
    group = f"{settings.topic_prefix}anomaly-metrics"
    probe = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(), group_id=group, enable_auto_commit=False
    )
    await probe.start()
    name = CLOUDWATCH_DATAPOINTS.full_name(settings.topic_prefix)
    tps = [TopicPartition(name, p) for p in range(CLOUDWATCH_DATAPOINTS.partitions)]
    try:
        deadline = time.monotonic() + 600
        while await committed(probe, tps) < total:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker died or fell behind during warm-up")
            await asyncio.sleep(POLL_S)
    finally:
        await probe.stop()


async def latency(
    settings: SpendstreamSettings, rate: int, seconds: float, resources: int, spec: str, log: Path
) -> list[float]:
    """Produced -> anomaly-consumed latency of injected spikes in a steady stream."""
    await ensure_topics(settings)
    proc = worker(settings, spec, log, None)
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(),
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    await consumer.start()
    raw = make_producer(settings)
    await raw.start()
    sent: dict[tuple[str, datetime], float] = {}
    received: dict[tuple[str, datetime], float] = {}
    try:
        name = ANOMALIES.full_name(settings.topic_prefix)
        consumer.assign([TopicPartition(name, p) for p in range(ANOMALIES.partitions)])

        async def consume() -> None:
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                now = time.perf_counter()
                for records in batch.values():
                    for r in records:
                        event = decode(r.value, r.headers, (AnomalyEvent,))
                        assert isinstance(event, AnomalyEvent)
                        # Updates keep the incident's start; the point is the window's end.
                        received.setdefault((event.series_id, event.window_end - STEP), now)
                if produced.is_set() and sent.keys() <= received.keys():
                    all_seen.set()

        produced, all_seen = asyncio.Event(), asyncio.Event()
        reader = asyncio.create_task(consume())
        topic = CLOUDWATCH_DATAPOINTS.full_name(settings.topic_prefix)
        warm = datapoints(resources * WARM_POINTS, resources, seed=1, spikes=0.0)
        await produce(settings, warm)  # every detector past its warm-up first
        try:
            await wait_committed(settings, len(warm), proc)
        except RuntimeError as exc:
            tail = log.read_text()[-3000:]  # noqa: ASYNC240 - failing anyway
            raise RuntimeError(f"{exc}; worker log ends:\n{tail}") from exc
        points = datapoints(
            int(rate * seconds),
            resources,
            seed=2,
            start=T0 + WARM_POINTS * STEP,
            spikes=SPIKE_SHARE,
        )
        chunk = max(1, rate // 100)
        start = time.perf_counter()
        for i in range(0, len(points), chunk):
            for p in points[i : i + chunk]:
                value, headers = encode(p, "bench")
                if p.value >= SPIKE_MIN:
                    # One incident per resource: its series is the instance id.
                    sent[(p.resource_id, p.timestamp)] = time.perf_counter()
                await raw.send(topic, value, key=p.resource_id.encode(), headers=headers)
            pause = start + (i + chunk) / rate - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
        produced.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_seen.wait(), timeout=DRAIN_TIMEOUT_S)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        return [received[k] - t if k in received else float("inf") for k, t in sent.items()]
    finally:
        await raw.stop()
        await consumer.stop()
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--latency-resources", type=int, default=100)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steady-resources", type=int, default=500)
    parser.add_argument("--steady-rate", type=int, default=1_000)
    parser.add_argument("--steady-seconds", type=float, default=20.0)
    args = parser.parse_args()
    spec = detector_spec()
    with tempfile.TemporaryDirectory(prefix="bench-anomaly-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # PostgreSQL's unprivileged user keeps its data inside when we are root
        bootstrap = os.environ.get("SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS")
        broker = None
        if not bootstrap:
            # All or nothing, stopped on any exit (Ctrl-C and SIGTERM included).
            broker = stack.enter_context(owned_stack(tmp / "stack"))
            bootstrap = broker.kafka_bootstrap_servers
        # Tansu rejects idempotent producers: off for the embedded broker, else as configured.
        idempotence = (
            broker is None
            and os.environ.get("SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE", "true").lower() != "false"
        )
        base = {"kafka_bootstrap_servers": bootstrap, "kafka_enable_idempotence": idempotence}
        points = datapoints(args.points, args.resources)
        raw = raw_loop(points, spec)
        fused = raw_fused_loop(points, spec)
        run = time.strftime("%H%M%S")
        served, delta_bytes = asyncio.run(
            throughput(
                SpendstreamSettings(**base, topic_prefix=f"bench{run}t."),
                points,
                spec,
                tmp / "t.log",
            )
        )
        served_full, full_bytes = asyncio.run(
            throughput(
                SpendstreamSettings(**base, topic_prefix=f"bench{run}f."),
                points,
                spec,
                tmp / "f.log",
                deltas=False,
            )
        )
        steady = steady_bytes(
            base,
            run,
            spec,
            tmp,
            args.steady_resources,
            args.steady_rate,
            args.steady_seconds,
        )
        lat = asyncio.run(
            latency(
                SpendstreamSettings(**base, topic_prefix=f"bench{run}l."),
                args.rate,
                args.seconds,
                args.latency_resources,
                spec,
                tmp / "l.log",
            )
        )
    flagged = [x for x in lat if x != float("inf")]
    p50, p99, worst = (
        (float(np.percentile(flagged, 50)), float(np.percentile(flagged, 99)), max(flagged))
        if flagged
        else (float("nan"),) * 3
    )
    load = os.getloadavg()[0]
    print(f"detector: {spec}  broker: {'embedded Tansu' if broker else bootstrap}")
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores")
    print("| measure | value |\n|---|---|")
    print(f"| raw River score+learn loop | {raw:,.0f} datapoints/s |")
    print(f"| service, one worker, through Kafka | {served:,.0f} datapoints/s |")
    print(f"| service / raw loop | {served / raw:.2f} |")
    if fused is not None:
        print(f"| raw loop through the detector's fused update() | {fused:,.0f} datapoints/s |")
        print(f"| service / fused raw loop | {served / fused:.2f} |")
    n = len(points)
    print(
        f"| throughput run, changelog bytes per datapoint: deltas | {delta_bytes / n:,.0f} B "
        f"({served:,.0f} datapoints/s) |"
    )
    print(
        f"| same points, every changed state written whole | {full_bytes / n:,.0f} B "
        f"({served_full:,.0f} datapoints/s) |"
    )
    print(f"| throughput run, full / delta bytes | {full_bytes / max(delta_bytes, 1):.1f}x |")
    (d_bytes, d_n, d_fed), (f_bytes, f_n, f_fed) = steady[True], steady[False]
    print(
        f"| steady over {args.steady_resources} 30-day states at {d_fed:,.0f} points/s: "
        f"deltas | {d_bytes / d_n:,.0f} B per datapoint |"
    )
    print(f"| same, every changed state whole ({f_fed:,.0f} points/s) | {f_bytes / f_n:,.0f} B |")
    print(f"| steady, full / delta bytes | {f_bytes / max(d_bytes, 1):.1f}x |")
    print(f"| latency produced -> anomaly consumed at {args.rate:,}/s: p50 | {p50 * 1000:.0f} ms |")
    print(f"| latency p99 | {p99 * 1000:.0f} ms |")
    print(f"| latency max | {worst * 1000:.0f} ms |")
    print(f"| spikes flagged (latency measured on these) | {len(flagged):,} of {len(lat):,} |")


if __name__ == "__main__":
    main()
